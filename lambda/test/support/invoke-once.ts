/**
 * One POST /users in a process of its own, for tests whose handler needs a different environment
 * from the start (Powertools and the X-Ray setup read theirs at import): the parent passes the whole
 * environment, _X_AMZN_TRACE_ID included. Prints the response status and returns without
 * process.exit(), so a handle left open (an X-Ray socket that is not unref'd) keeps it running.
 *   node lambda/test/support/invoke-once.ts
 */
import { apiEvent } from './events.ts';
import { importHandlers, invoke } from './environment.ts';

const handlers = await importHandlers();
const reply = await invoke(handlers.createUser, apiEvent({ method: 'POST', path: '/users', body: { email: 'once@example.com', name: 'Once' } }));
process.stdout.write(`${JSON.stringify({ status: reply.status })}\n`);
