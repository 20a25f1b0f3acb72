/**
 * Captures what the functions write to stdout and stderr (Powertools logs and EMF metrics are one
 * JSON object per line; errors go to stderr) while `action` runs. Anything that is not a JSON
 * line is passed through, so the test runner's own output is untouched.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed JSON line the functions wrote (a log or an EMF metric): the tests' assertions check its shape
export type LogRecord = Record<string, any>;

function intercept(stream: NodeJS.WriteStream, sink: (text: string) => void): () => void {
  const original = stream.write.bind(stream);
  stream.write = (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
    const value = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (value !== undefined && value.startsWith('{"')) {
      sink(value);
      const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
      callback?.();
      return true;
    }
    return original(chunk, ...(rest as []));
  };
  return () => {
    stream.write = original;
  };
}

export async function captureOutput<T>(
  action: () => Promise<T>,
): Promise<{ result: T; text: string; records: LogRecord[] }> {
  let text = '';
  const sink = (value: string): void => {
    text += value.endsWith('\n') ? value : `${value}\n`;
  };
  const restoreOut = intercept(process.stdout, sink);
  const restoreErr = intercept(process.stderr, sink);
  try {
    const result = await action();
    const records = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as LogRecord);
    return { result, text, records };
  } finally {
    restoreOut();
    restoreErr();
  }
}
