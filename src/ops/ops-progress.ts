/**
 * @module The progress events every use case reports through its `onProgress` callback. ops/ never
 * prints: a front end (the CLI's progress bars, a server's event stream) turns events into output.
 */

/**
 * Progress of a phase that goes file by file: `reading` (an ingest opening and checking
 * its input files) and `restoring` (a restore writing a snapshot's files). Bytes are file bytes.
 */
export interface FileProgress {
  readonly phase: 'reading' | 'restoring';
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly filesDone: number;
  readonly filesTotal: number;
}

/**
 * Progress of a phase measured in bytes only: `saving` (an ingest's bytes chunked and stored),
 * `exporting` and `converting` (tensor bytes handed to the output's writer).
 */
export interface ByteProgress {
  readonly phase: 'saving' | 'exporting' | 'converting';
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

/**
 * One progress event. Within a phase `bytesDone` (and `filesDone`) never decrease and `bytesTotal`
 * (and `filesTotal`) never change; a use case reports its phases in order.
 */
export type OpsProgress = FileProgress | ByteProgress;

/** The callback a use case reports progress to; called often, so it should be cheap. */
export type OnProgress = (event: OpsProgress) => void;
