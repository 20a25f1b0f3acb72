// The route table of the local API, built from lambda/service-contract.json: the same single
// declaration of the operations that the CDK app turns into routes, authorizer scopes and functions.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface Operation {
  name: string;
  method: string;
  path: string;
  entry: string;
  scope: string;
}

export interface Route extends Operation {
  /** API Gateway's route key, e.g. "GET /users/{userId}". */
  routeKey: string;
  /** Absolute path of the handler module. */
  entryPath: string;
  pattern: RegExp;
  parameterNames: string[];
}

export interface RouteMatch {
  route: Route;
  pathParameters: Record<string, string>;
}

export const DEFAULT_CONTRACT_PATH = resolve(import.meta.dirname, '..', 'lambda', 'service-contract.json');

export function loadRoutes(contractPath: string = DEFAULT_CONTRACT_PATH): Route[] {
  const contract = JSON.parse(readFileSync(contractPath, 'utf8')) as { operations?: Operation[] };
  if (!Array.isArray(contract.operations) || contract.operations.length === 0) {
    throw new Error(`${contractPath} declares no operations`);
  }
  const lambdaDir = dirname(contractPath);
  return contract.operations.map((operation) => buildRoute(operation, lambdaDir));
}

export function buildRoute(operation: Operation, lambdaDir: string): Route {
  for (const key of ['name', 'method', 'path', 'entry', 'scope'] as const) {
    if (typeof operation[key] !== 'string' || operation[key] === '') {
      throw new Error(`operation ${JSON.stringify(operation.name)} has no ${key}`);
    }
  }
  const parameterNames: string[] = [];
  const source = operation.path
    .split('/')
    .map((segment) => {
      const parameter = /^\{([A-Za-z0-9_]+)\}$/.exec(segment);
      if (parameter?.[1]) {
        parameterNames.push(parameter[1]);
        return '([^/]+)';
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  const method = operation.method.toUpperCase();
  return {
    ...operation,
    method,
    routeKey: `${method} ${operation.path}`,
    entryPath: resolve(lambdaDir, operation.entry),
    pattern: new RegExp(`^${source}$`),
    parameterNames,
  };
}

/** HTTP APIs match method and path exactly; a known path with another method is "Not Found" too. */
export function matchRoute(routes: Route[], method: string, path: string): RouteMatch | undefined {
  for (const route of routes) {
    if (route.method !== method.toUpperCase()) continue;
    const match = route.pattern.exec(path);
    if (!match) continue;
    const pathParameters: Record<string, string> = {};
    route.parameterNames.forEach((name, index) => {
      pathParameters[name] = safeDecode(match[index + 1] ?? '');
    });
    return { route, pathParameters };
  }
  return undefined;
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
