// The values a loaded spec is made of besides plain JSON; pure, so the checks that read them stay workflow-safe.

/** `!!python/tuple [start, end, step]` as mlframework wrote intervals; kept apart from a plain list. */
export class PythonTuple {
  constructor(readonly items: unknown[]) {}
}

/** A value under a tag Sweep does not know; kept so the spec check can report it beside every other problem. */
export class UnknownTag {
  constructor(
    readonly tag: string,
    readonly value: unknown,
  ) {}

  /** `!!python/object` rather than `tag:yaml.org,2002:python/object`. */
  get shortTag(): string {
    return this.tag.replace(/^tag:yaml\.org,2002:/, '!!');
  }
}

/** A YAML mapping, as opposed to a list, a scalar or one of the tagged values above. */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}
