/**
 * Go's text/tabwriter (flags 0, padchar ' '), which aligns `ls`: tab-terminated cells, columns
 * as wide as their widest cell plus `padding` (at least `minwidth`), computed per column block
 * (a run of consecutive lines that have that column). Text after a line's last tab is not a cell.
 */
export function tabwrite(text: string, minwidth = 5, padding = 3): string {
  const lines = text.split('\n').map((line) => line.split('\t'));
  const width = (s: string) => [...s].length;
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const cells = lines[i]!;
      let line = '';
      cells.forEach((cell, j) => {
        if (j < widths.length && j < cells.length - 1)
          line += cell.padEnd(widths[j]! + cell.length - width(cell));
        else line += cell;
      });
      out.push(line);
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let current = line0; current < line1; current++) {
      if (column >= lines[current]!.length - 1) continue;
      writeLines(line0, current);
      line0 = current;
      let w = minwidth;
      for (; current < line1; current++) {
        const cells = lines[current]!;
        if (column >= cells.length - 1) break;
        w = Math.max(w, width(cells[column]!) + padding);
      }
      widths.push(w);
      format(line0, current);
      widths.pop();
      line0 = current;
    }
    writeLines(line0, line1);
  };

  // The recursion above mirrors Go's: it prints every line exactly once, in order.
  format(0, lines.length);
  return out.join('\n');
}
