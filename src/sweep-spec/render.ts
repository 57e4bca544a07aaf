import { parseTemplate, placeholderNames } from './command-template.js';
import { firstBlock, trialCount, trialParameters, varyingParameterNames } from './expand.js';
import { formatScalar } from './number-format.js';
import type { JsonValue, SweepSpec } from './spec-types.js';

export interface RenderedTrial {
  readonly index: number;
  /** Stable and readable: `t007_lr=0.001_batch_size=64`; safe in file names and workflow IDs. */
  readonly name: string;
  readonly params: Record<string, JsonValue>;
  /** The exact argv; no shell ever sees it, so quotes, `$()` and `;` in values stay plain text. */
  readonly argv: string[];
  /** Variables the trial gets besides the worker's: the spec's env, SWEEP_PARAMS, and SWEEP_PARAM_* if asked. */
  readonly env: Record<string, string>;
}

/** Facts known only where the trial runs; previews show `<trial_dir>` instead. */
export interface RunContext {
  readonly trialDir?: string;
  readonly sweepId?: string;
}

const MAX_NAME_LENGTH = 120;

export function formatValue(value: JsonValue): string {
  return value !== null && typeof value === 'object' ? JSON.stringify(value) : formatScalar(value);
}

export function paramEnvName(name: string): string {
  return `SWEEP_PARAM_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export function trialName(spec: SweepSpec, index: number, params: Record<string, JsonValue>): string {
  const given = spec.trialNames?.[index];
  if (given !== undefined) return given;
  // A grown sweep's first trials keep the names they had: its later trials' indices just run longer, and they
  // name what varies across the grid as grown.
  const started = spec.trials ? trialCount(spec) : trialCount(firstBlock(spec));
  const width = Math.max(3, String(started - 1).length);
  const named = spec.trials || index >= started ? spec : firstBlock(spec);
  // A `trials:` entry may leave a parameter out: then its name shows nothing of it.
  const parts = varyingParameterNames(named)
    .filter((name) => Object.hasOwn(params, name))
    .map((name) => `${name}=${formatValue(params[name] ?? null).replace(/[^A-Za-z0-9.+-]+/g, '-')}`);
  return [`t${String(index).padStart(width, '0')}`, ...parts].join('_').slice(0, MAX_NAME_LENGTH);
}

function optionArgs(style: SweepSpec['args'], name: string, value: JsonValue): string[] {
  if (style === 'none') return [];
  if (style === 'hydra') return [`${name}=${value === null ? 'null' : formatValue(value)}`];
  if (value === false) return [];
  if (value === true) return [`--${name}`];
  return style === 'equals' ? [`--${name}=${formatValue(value)}`] : [`--${name}`, formatValue(value)];
}

/** Stands for the trial directory while a trial is planned; NUL cannot occur in an argv element. */
const TRIAL_DIR_MARK = '\u0000trial_dir\u0000';

/**
 * The trial's argv as a template with only `{trial_dir}` left, which only the worker knows; every other brace
 * of the rendered text (parameter values, literal braces) is doubled, so `fillTrialDir` reads it back as itself.
 */
export function renderTrialTemplate(spec: SweepSpec, index: number, sweepId: string): RenderedTrial {
  const trial = renderTrial(spec, index, { sweepId, trialDir: TRIAL_DIR_MARK });
  const argv = trial.argv.map((element) =>
    element.replace(/[{}]/g, (brace) => brace + brace).replaceAll(TRIAL_DIR_MARK, '{trial_dir}'),
  );
  return { ...trial, argv };
}

/** A template from `renderTrialTemplate` with the trial directory filled in: the exact argv. */
export function fillTrialDir(template: readonly string[], trialDir: string): string[] {
  return template.map((element) =>
    parseTemplate(element)
      .map((part) =>
        typeof part === 'string' ? part : part.placeholder === 'trial_dir' ? trialDir : `{${part.placeholder}}`,
      )
      .join(''),
  );
}

export function renderTrial(spec: SweepSpec, index: number, context: RunContext = {}): RenderedTrial {
  const params = trialParameters(spec, index);
  const name = trialName(spec, index, params);
  const builtins: Record<string, string> = {
    trial_index: String(index),
    trial_name: name,
    trial_dir: context.trialDir ?? '<trial_dir>',
    sweep_id: context.sweepId ?? '<sweep_id>',
  };
  const fill = (placeholder: string): string =>
    Object.hasOwn(params, placeholder)
      ? formatValue(params[placeholder] ?? null)
      : (builtins[placeholder] ?? `{${placeholder}}`);
  const argv = spec.command.map((element) =>
    parseTemplate(element)
      .map((part) => (typeof part === 'string' ? part : fill(part.placeholder)))
      .join(''),
  );
  const used = placeholderNames(spec.command);
  for (const name of Object.keys(params)) {
    if (!used.has(name)) argv.push(...optionArgs(spec.args, name, params[name] ?? null));
  }
  const env: Record<string, string> = { ...spec.env, SWEEP_PARAMS: JSON.stringify(params) };
  if (spec.paramEnv) {
    for (const [key, value] of Object.entries(params)) env[paramEnvName(key)] = formatValue(value);
  }
  return { index, name, params, argv, env };
}
