/*
 * Imported before @fast-check/poisoning takes its snapshot of the globals: Node creates some
 * globals lazily on first use (AbortController) and zod registers its global config on import.
 * Neither is pollution by covey; touching them first keeps them out of the comparison.
 */
import "zod";

new AbortController().abort();
