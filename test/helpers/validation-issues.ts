import { ValidationError } from '../../src/domain/errors';

/** The issues of the ValidationError `load` throws, as `path: message` lines; fails when it throws none. */
export function validationIssues(load: () => unknown): string[] {
  try {
    load();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ValidationError');
}
