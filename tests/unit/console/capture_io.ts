/** A console that records what commands print, for kernel tests. */
import type { ConsoleIO } from '../../../core/console/index.js';

export interface CapturedIO extends ConsoleIO {
  readonly out: string;
  readonly err: string;
  /** Questions asked through `confirm`. */
  readonly questions: string[];
}

/** A non-interactive console unless `answer` is given, which `confirm` then returns. */
export function captureIO(answer?: boolean): CapturedIO {
  const out: string[] = [];
  const err: string[] = [];
  const questions: string[] = [];
  return {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    interactive: answer !== undefined,
    confirm: async (question: string) => {
      questions.push(question);
      return answer ?? false;
    },
    get out() {
      return out.join('');
    },
    get err() {
      return err.join('');
    },
    questions,
  };
}
