/**
 * @module unsignedPayload: a PUT or part upload whose body goes as SigV4 `UNSIGNED-PAYLOAD`. The SDK
 * otherwise hashes every body with SHA-256 before sending it (~1 CPU-s per GiB here, as much as the
 * rest of the request path); the method, key, headers and credentials stay signed, so the server
 * still refuses a request made with a wrong secret. Why engram can do without: S3StoreOptions.signPayload.
 */
import { PutObjectCommand, type UploadPartCommand } from '@aws-sdk/client-s3';

/** SigV4 takes a payload hash already set in this header instead of computing one. */
const PAYLOAD_HASH_HEADER = 'x-amz-content-sha256';

/** The SDK's build-step arguments: the HTTP request about to be signed. */
function markUnsigned<A extends { request: unknown }>(args: A): A {
  const request = args.request as { headers?: Record<string, string> } | undefined;
  if (request?.headers) request.headers[PAYLOAD_HASH_HEADER] = 'UNSIGNED-PAYLOAD';
  return args;
}

/** Where: the build step runs before the signer (finalize step), which then signs this header's value. */
const PLACE = { step: 'build', name: 'engramUnsignedPayload' } as const;

/** Sets `command` (this one request, not its client) to send its body unsigned; returns it. */
export function unsignedPayload<C extends PutObjectCommand | UploadPartCommand>(command: C): C {
  // Two calls for the two commands: their middleware stacks differ in type, not in what this does.
  if (command instanceof PutObjectCommand) command.middlewareStack.add((next) => (args) => next(markUnsigned(args)), PLACE);
  else command.middlewareStack.add((next) => (args) => next(markUnsigned(args)), PLACE);
  return command;
}
