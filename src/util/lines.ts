// Splits a byte stream into lines without regexes or readline (measured here: byte search on
// Buffers is 3-5x faster than readline, 10x faster than execa's line iterator). Memory stays
// bounded: a line longer than `maxLine` bytes is not buffered, only counted and reported.
// Two ways to receive a line: as bytes of the chunk, undecoded (the trace reader parses most
// lines from the bytes directly and never makes a string of them), or as a string (bpftrace's
// output on the live path).

/** Receives one complete line (without its newline) and its 1-based number. */
export type OnLine = (line: string, lineNo: number) => void;
/** Receives one complete line as buf[start, end) (without its newline) and its number. */
export type OnLineBytes = (buf: Buffer, start: number, end: number, lineNo: number) => void;
/** Receives a line that was too long (its content dropped) and its number and length. */
export type OnOverlong = (lineNo: number, bytes: number) => void;

/**
 * Numbers lines, drops a CR before the newline, joins lines across chunks, reports overlong
 * lines and never buffers them; hands each line over as bytes of the chunk it ended in.
 */
export class ByteLineSplitter {
  private carry: Buffer[] = [];
  private carryLen = 0;
  /** True while discarding the rest of an overlong line. */
  private skipping = false;
  private skippedBytes = 0;
  lineNo = 0;

  constructor(
    private readonly onLine: OnLineBytes,
    private readonly onOverlong: OnOverlong,
    readonly maxLine = 1 << 20,
  ) {}

  /** Feeds a chunk; calls onLine for each complete line in it. */
  push(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      const nl = chunk.indexOf(10, pos);
      if (nl === -1) {
        this.hold(chunk, pos, len);
        return;
      }
      this.lineNo++;
      if (this.skipping) {
        this.onOverlong(this.lineNo, this.skippedBytes + (nl - pos));
        this.skipping = false;
        this.skippedBytes = 0;
      } else if (this.carryLen > 0) {
        if (this.carryLen + (nl - pos) > this.maxLine) {
          this.onOverlong(this.lineNo, this.carryLen + (nl - pos));
        } else {
          this.carry.push(chunk.subarray(pos, nl));
          const line = Buffer.concat(this.carry);
          this.emit(line, 0, line.length);
        }
        this.carry = [];
        this.carryLen = 0;
      } else if (nl - pos > this.maxLine) {
        this.onOverlong(this.lineNo, nl - pos);
      } else {
        this.emit(chunk, pos, nl);
      }
      pos = nl + 1;
    }
  }

  /** Ends the stream: the unterminated last line, if any, decoded, for the caller to judge. */
  end(): { line: string; lineNo: number } | undefined {
    if (this.skipping) {
      this.lineNo++;
      this.onOverlong(this.lineNo, this.skippedBytes);
      this.skipping = false;
      return undefined;
    }
    if (this.carryLen === 0) return undefined;
    this.lineNo++;
    const line = Buffer.concat(this.carry).toString('utf8');
    this.carry = [];
    this.carryLen = 0;
    return { line, lineNo: this.lineNo };
  }

  private emit(buf: Buffer, start: number, end: number): void {
    // A CRLF file is still one line per record.
    this.onLine(buf, start, end > start && buf[end - 1] === 13 ? end - 1 : end, this.lineNo);
  }

  private hold(chunk: Buffer, from: number, to: number): void {
    if (this.skipping) {
      this.skippedBytes += to - from;
      return;
    }
    if (this.carryLen + (to - from) > this.maxLine) {
      this.skipping = true;
      this.skippedBytes = this.carryLen + (to - from);
      this.carry = [];
      this.carryLen = 0;
      return;
    }
    // Copy: the chunk's memory may be reused by the stream.
    this.carry.push(Buffer.from(chunk.subarray(from, to)));
    this.carryLen += to - from;
  }
}

/** The same, handing each line over as a string (UTF-8). */
export class LineSplitter extends ByteLineSplitter {
  constructor(onLine: OnLine, onOverlong: OnOverlong, maxLine = 1 << 20) {
    super((buf, start, end, lineNo) => onLine(buf.toString('utf8', start, end), lineNo), onOverlong, maxLine);
  }
}
