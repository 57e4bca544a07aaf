import { createLogUpdate } from 'log-update';
import { liveViewLines, type LiveSnapshot } from './live-view.js';

/** What a frame shows, less what the terminal decides (its width, whether to colour). */
export type LiveFrame = Omit<LiveSnapshot, 'columns' | 'rows' | 'colour'>;

/** NO_COLOR (https://no-color.org): present and not empty turns colour off. */
function colourWanted(): boolean {
  return !process.env.NO_COLOR;
}

/**
 * `sweep watch`'s view on a terminal: redrawn in place by log-update, again at once when the terminal is resized,
 * so no line ever wraps. Lines that must stay (an outage) go above it. log-update 6, not 7: 7 patches only the
 * changed lines and loses lines when a frame grows (fixed in 8, which needs Node 22).
 */
export class LiveScreen {
  private readonly log;
  private frame: LiveFrame | undefined;
  private readonly onResize = () => this.draw();

  constructor(private readonly stream: NodeJS.WriteStream) {
    this.log = createLogUpdate(stream);
    stream.on('resize', this.onResize);
  }

  show(frame: LiveFrame): void {
    this.frame = frame;
    this.draw();
  }

  /** A line kept on screen above the view. */
  persist(line: string): void {
    this.log.clear();
    this.stream.write(`${line}\n`);
    this.draw();
  }

  /** Leaves the last frame on screen. */
  done(): void {
    this.stream.off('resize', this.onResize);
    this.log.done();
  }

  private draw(): void {
    if (!this.frame) return;
    const columns = this.stream.columns || 80;
    const rows = this.stream.rows || 24;
    this.log(liveViewLines({ ...this.frame, columns, rows, colour: colourWanted() }).join('\n'));
  }
}
