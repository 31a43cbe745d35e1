/* The GraphiQL page (development only). No inline script, so the page runs under a
   script-src 'self' Content-Security-Policy. Its settings come from the root element's data
   attributes (oms_project/templates/oms/graphiql.html). Headers are not persisted: a pasted
   token stays in this tab only.

   Queries and mutations go by POST; a subscription opens a WebSocket to the same URL and speaks
   graphql-transport-ws (docs/live.md), the header editor's headers as connection_init's payload. */
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var http = GraphiQL.createFetcher({ url: root.dataset.endpoint });

  function isSubscription(params, options) {
    // The editor's parsed document, when it is the one being run (it can lag behind the text).
    var parsed = options && options.documentAST;
    if (parsed && parsed.loc && parsed.loc.source.body === params.query) {
      var chosen = parsed.definitions.filter(function (d) {
        return d.kind === "OperationDefinition" &&
          (!params.operationName || (d.name && d.name.value === params.operationName));
      })[0];
      return Boolean(chosen && chosen.operation === "subscription");
    }
    var text = (params.query || "").replace(/#[^\n]*/g, "");
    if (params.operationName) {
      return new RegExp("\\bsubscription\\s+" + params.operationName + "\\b").test(text);
    }
    return /^\s*subscription\b/.test(text);
  }

  function subscription(params, headers) {
    var url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + root.dataset.endpoint;
    return {
      subscribe: function (observer) {
        var socket = new WebSocket(url, "graphql-transport-ws");
        var done = false;
        function finish() {
          if (!done) { done = true; observer.complete(); }
        }
        socket.onopen = function () {
          socket.send(JSON.stringify({ type: "connection_init", payload: headers || {} }));
        };
        socket.onmessage = function (event) {
          var message = JSON.parse(event.data);
          if (message.type === "connection_ack") {
            socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: params }));
          } else if (message.type === "ping") {
            socket.send(JSON.stringify({ type: "pong" }));
          } else if (message.type === "next") {
            observer.next(message.payload);
          } else if (message.type === "error") {
            observer.next({ errors: message.payload });
            finish();
            socket.close(1000);
          } else if (message.type === "complete") {
            finish();
            socket.close(1000);
          }
        };
        socket.onclose = function (event) {
          if (!done && event.code !== 1000) {
            observer.next({ errors: [{ message: "closed " + event.code + ": " + event.reason }] });
          }
          finish();
        };
        return {
          unsubscribe: function () {
            if (socket.readyState === WebSocket.OPEN) {
              socket.send(JSON.stringify({ id: "1", type: "complete" }));
              socket.close(1000);
            }
            done = true;
          },
        };
      },
    };
  }

  function fetcher(params, options) {
    if (isSubscription(params, options)) return subscription(params, options && options.headers);
    return http(params, options);
  }

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: root.dataset.query,
      defaultHeaders: root.dataset.headers,
      headerEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: "headers",
    })
  );
})();
