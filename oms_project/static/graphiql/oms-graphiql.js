/* The GraphiQL page (development only). No inline script, so the page runs under a
   script-src 'self' Content-Security-Policy. Its settings come from the root element's data
   attributes (oms_project/templates/oms/graphiql.html). Headers are not persisted: a pasted
   token stays in this tab only. */
(function () {
  "use strict";
  var root = document.getElementById("graphiql");
  var fetcher = GraphiQL.createFetcher({ url: root.dataset.endpoint });
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
