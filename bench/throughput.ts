// 5. Throughput through the local server.
import { LOAD_CONCURRENCY, LOAD_MAX_REQUESTS, LOAD_MAX_MS, round, step } from './common.ts';
import { type LocalServer, call } from './local-server.ts';

export async function throughput(server: LocalServer) {
  step(`throughput: create/get mix, concurrency ${LOAD_CONCURRENCY}, at most ${LOAD_MAX_REQUESTS} requests or ${LOAD_MAX_MS / 1000} s`);
  let issued = 0;
  let completed = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  const deadline = performance.now() + LOAD_MAX_MS;
  const record = (message: string): void => {
    errors += 1;
    if (firstErrors.length < 5) firstErrors.push(message);
  };
  // Each worker creates a user and reads it back: a 50/50 mix of POST /users and GET /users/{id}.
  const worker = async (): Promise<void> => {
    while (issued < LOAD_MAX_REQUESTS && performance.now() < deadline) {
      issued += 2;
      try {
        const created = await call(server, 'POST', '/users', { email: `load-${issued}@example.com`, name: `Load User ${issued}` });
        completed += 1;
        if (created.status !== 201) {
          record(`POST ${created.status}`);
          continue;
        }
        const { userId } = JSON.parse(created.body) as { userId: string };
        const read = await call(server, 'GET', `/users/${userId}`);
        completed += 1;
        if (read.status !== 200) record(`GET ${read.status}`);
      } catch (error) {
        record(String(error));
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, () => worker()));
  const seconds = (performance.now() - started) / 1000;
  return { concurrency: LOAD_CONCURRENCY, requests: completed, seconds: round(seconds), requestsPerSecond: round(completed / seconds, 1), errors, firstErrors };
}
