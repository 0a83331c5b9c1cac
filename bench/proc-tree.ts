/** Process trees from /proc: a process and all its descendants. */

/** `root` and its descendants, given each process's children (one scan of /proc). */
export function treeIn(children: Map<number, number[]>, root: number): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}
