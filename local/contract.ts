// The route table of the local API, built from lambda/service-contract.json: the same single
// declaration of the operations that the CDK app turns into routes, authorizer scopes and functions.
import { resolve } from 'node:path';
import { contract, type Operation } from '../lambda/src/contract.ts';

export interface Route extends Operation {
  /** Absolute path of the handler module. */
  entryPath: string;
  pattern: RegExp;
  parameterNames: string[];
}

export interface RouteMatch {
  route: Route;
  pathParameters: Record<string, string>;
}

const LAMBDA_DIR = resolve(import.meta.dirname, '..', 'lambda');

export function loadRoutes(operations: readonly Operation[] = contract.operations): Route[] {
  return operations.map((operation) => buildRoute(operation, LAMBDA_DIR));
}

export function buildRoute(operation: Operation, lambdaDir: string): Route {
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
  return {
    ...operation,
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
