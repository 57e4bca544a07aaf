// A trial's learning curve: the sweep's metric at each reported step, thinned evenly so that a run of any
// length keeps a bounded curve (it travels in the trial's result and memo, which Temporal limits in size).

/** `[step, value]`; the step is the report's own, or the report's number (1, 2, …) when it gives none. */
export type CurvePoint = [number, number];

/** A curve never holds more points than this: at the limit every other point goes, and the stride doubles. */
export const MAX_CURVE_POINTS = 200;

export class MetricCurve {
  private points: CurvePoint[] = [];
  private stride = 1;
  private reports = 0;
  private latest: CurvePoint | undefined;

  add(step: number, value: number): void {
    this.latest = [step, value];
    // Keeping every stride-th report keeps the curve's points evenly spaced over the reports.
    if (this.reports++ % this.stride !== 0) return;
    this.points.push(this.latest);
    if (this.points.length < MAX_CURVE_POINTS) return;
    this.points = this.points.filter((_, i) => i % 2 === 0);
    this.stride *= 2;
  }

  /** The kept points and the latest report, which a thinned curve would otherwise miss. */
  values(): CurvePoint[] {
    const latest = this.latest;
    if (!latest || this.points.at(-1) === latest) return [...this.points];
    return [...this.points, latest];
  }

  get reportCount(): number {
    return this.reports;
  }
}
