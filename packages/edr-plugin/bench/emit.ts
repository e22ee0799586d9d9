/** Prints one figure as the benches do: one JSON line `{"name","value","unit"}`, the value to 2 decimals. */
export function emit(name: string, value: number, unit: string): void {
  console.log(JSON.stringify({ name, value: Math.round(value * 100) / 100, unit }));
}
