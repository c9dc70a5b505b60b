/** The process's own output while a test acts: what a Lambda handler logs (Powertools) and publishes (EMF). */
import { vi } from 'vitest';

/** Runs `act` with stdout and stderr captured (Powertools logs warnings and errors on stderr). */
export async function captureOutput<T>(
  act: () => Promise<T>,
): Promise<{ value: T | Error; lines: string[] }> {
  const chunks: string[] = [];
  const keep = (chunk: string | Uint8Array) => {
    chunks.push(String(chunk));
    return true;
  };
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(keep),
    vi.spyOn(process.stderr, 'write').mockImplementation(keep),
  ];
  try {
    const value = await act().catch((error: unknown) => error as Error);
    return { value, lines: chunks.join('').split('\n').filter(Boolean) };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
