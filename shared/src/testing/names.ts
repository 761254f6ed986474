/** Unique, readable names so that every test owns its topics, consumer groups, schemas and prefixes. */
let counter = 0;
const run = `${Date.now().toString(36)}${process.pid.toString(36)}`;

export function uniqueName(label: string): string {
  counter += 1;
  return `t_${label.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${run}_${counter}`;
}
