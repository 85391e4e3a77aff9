/** `npx topiq messages:flush`: deletes every dead-lettered MQTT message. */
import { BaseCommand } from '../command.js';
import { plural } from '../output.js';

/** Deletes every dead-lettered message. */
export class MessagesFlushCommand extends BaseCommand {
  static override readonly commandName = 'messages:flush';
  static override readonly description = 'Delete every dead-lettered MQTT message';

  async run(): Promise<number> {
    const app = await this.app();
    const count = await app.deadLetters.flush();
    this.line(`Deleted ${plural(count, 'dead-lettered message')}.`);
    return 0;
  }
}
