// Real subscription clients against the running ASGI server (tests/live/test_node_clients.py):
//   node live.mjs '{"client": "graphql-ws" | "apollo" | "graphql-sse", "url": ..., "token": ...,
//                   "query": ..., "variables": {...}, "count": N}'
// Prints one JSON object per line: {"connected": true}, {"next": result}, {"error": ...},
// {"closed": {"code", "reason"}}, and {"done": true} once `count` results arrived or it ended.
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";
import { ApolloClient, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions/index.js";

const options = JSON.parse(process.argv[2]);
const print = (line) => process.stdout.write(JSON.stringify(line) + "\n");
let seen = 0;
let finish;
const finished = new Promise((resolve) => (finish = resolve));

function wsClient() {
  return createWsClient({
    url: options.url,
    webSocketImpl: WebSocket,
    connectionParams: options.token === null ? {} : { Authorization: `Bearer ${options.token}` },
    retryAttempts: 0,
    lazyCloseTimeout: 0,
    on: {
      connected: () => print({ connected: true }),
      closed: (event) => {
        print({ closed: { code: event.code, reason: event.reason } });
        finish();
      },
    },
  });
}

const sink = {
  next: (result) => {
    print({ next: result });
    seen += 1;
    if (seen >= options.count) finish();
  },
  error: (error) => {
    print({ error: Array.isArray(error) ? error : { message: String(error && (error.message || error.reason || error)), code: error && error.code } });
    finish();
  },
  complete: () => finish(),
};

let dispose = () => {};
if (options.client === "graphql-ws") {
  const client = wsClient();
  const stop = client.subscribe({ query: options.query, variables: options.variables || {} }, sink);
  dispose = async () => { stop(); await client.dispose(); };
} else if (options.client === "apollo") {
  const client = wsClient();
  const apollo = new ApolloClient({ link: new GraphQLWsLink(client), cache: new InMemoryCache() });
  const subscription = apollo
    .subscribe({ query: gql(options.query), variables: options.variables || {} })
    .subscribe({ next: sink.next, error: (e) => sink.error(e.graphQLErrors || e.protocolErrors || e), complete: sink.complete });
  dispose = async () => { subscription.unsubscribe(); await client.dispose(); };
} else if (options.client === "graphql-sse") {
  const client = createSseClient({
    url: options.url,
    singleConnection: false,
    retryAttempts: 0,
    headers: { Authorization: `Bearer ${options.token}` },
  });
  print({ connected: true });
  const stop = client.subscribe({ query: options.query, variables: options.variables || {} }, sink);
  dispose = async () => { stop(); client.dispose(); };
}

const timer = setTimeout(finish, (options.timeout || 20) * 1000);
await finished;
clearTimeout(timer);
await dispose();
print({ done: true });
process.exit(0);
