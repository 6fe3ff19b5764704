/** @module Rules for ref (tag) names and run names. */
import { EngramError } from '../errors/index.ts';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws `InvalidArgument` unless `name` is a valid tag name. */
export function checkRefName(name: string): string {
  if (!NAME.test(name)) {
    throw new EngramError('InvalidArgument', `invalid tag name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-', starting with a letter or digit`, { name });
  }
  return name;
}

/** Throws `InvalidArgument` unless `run` is a valid run name. */
export function checkRunName(run: string): string {
  if (!NAME.test(run)) {
    throw new EngramError('InvalidArgument', `invalid run name ${JSON.stringify(run)}: use letters, digits, '.', '_' and '-', starting with a letter or digit`, { run });
  }
  return run;
}
