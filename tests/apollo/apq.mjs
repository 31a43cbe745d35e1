// A real Apollo client against the running server (tests/test_persisted_queries.py):
//   node apq.mjs GRAPHQL_URL TOKEN
// Prints one JSON object: what each step answered and the requests it took.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries/index.js";
import { createHash } from "node:crypto";

const [url, token] = process.argv.slice(2);
const requests = [];

async function recordingFetch(uri, options) {
  const response = await fetch(uri, options);
  const params = new URL(uri).searchParams;
  const body = options.body ? JSON.parse(options.body) : {};
  requests.push({
    method: options.method,
    hash: Boolean((body.extensions || JSON.parse(params.get("extensions") || "{}")).persistedQuery),
    document: Boolean(body.query || params.get("query")),
    status: response.status,
    refusal: response.status >= 400 ? await response.clone().text() : undefined,
  });
  return response;
}

function newClient() {
  const persisted = createPersistedQueryLink({
    sha256: (document) => createHash("sha256").update(document).digest("hex"),
    useGETForHashedQueries: true,
  });
  const http = new HttpLink({ uri: url, fetch: recordingFetch, headers: { authorization: `Bearer ${token}` } });
  return new ApolloClient({ link: persisted.concat(http), cache: new InMemoryCache() });
}

const ME = gql`query Me { me { userId tenantId } }`;
const SYNC = gql`mutation Sync($email: String!) {
  syncUser(email: $email, firstName: "Ada", lastName: "Lovelace") { me { userId } errors { code } }
}`;

const steps = {};
async function step(name, run) {
  try {
    steps[name] = { data: (await run()).data };
  } catch (error) {
    steps[name] = { error: String(error.message) };
  }
  steps[name].requests = requests.splice(0);
}

await step("firstQuery", () => newClient().query({ query: ME }));
await step("sameQueryNewClient", () => newClient().query({ query: ME }));
await step("firstMutation", () => newClient().mutate({ mutation: SYNC, variables: { email: "ada@example.com" } }));
await step("sameMutationNewClient", () => newClient().mutate({ mutation: SYNC, variables: { email: "ada@example.com" } }));
console.log(JSON.stringify(steps));
