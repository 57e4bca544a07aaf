// What a parameter may be called: it becomes an option name (`--lr`), a placeholder and an environment name.
const PARAMETER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function isParameterName(name: string): boolean {
  return PARAMETER_NAME.test(name) && name !== '__proto__';
}
