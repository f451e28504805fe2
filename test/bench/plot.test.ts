import { describe, expect, it } from 'vitest';
import { plotTable, readTables } from '../../bench/plot.js';

describe('bench plots', () => {
  it('plots bare numbers in a column whose header says ms, bold cells too, and skips columns with negative values', () => {
    const md = [
      '### overhead',
      '',
      '| functions | machine | wall (ms) | past the deadline (ms) | **overhead (ms)** | peak RSS |',
      '|---:|---|---:|---:|---:|---:|',
      '| 250 | capture (no driver but pcieport) | 1213 | -800 | **448** | 76 MB |',
      '| 5000 | live (drivers bound) | 17822 | 12 | **2930** | 253 MB |',
    ].join('\n');
    const [t] = readTables(md);
    expect(t!.header[4]).toBe('overhead (ms)');
    const svg = plotTable(t!)!;
    // two rows × two time columns (wall, overhead); "past the deadline" has a negative cell, RSS is not a time
    expect(svg.match(/<rect x="\d+" y="\d+" width="[\d.]+" height="14"/g)).toHaveLength(4);
    expect(svg).toContain('448 ms');
    expect(svg).toContain('2930 ms');
    expect(svg).not.toContain('-800');
    // rows are told apart by their leading words, parenthesised remarks dropped
    expect(svg).toContain('250, capture</text>');
    expect(svg).toContain('5000, live</text>');
  });

  it('a column of plain numbers whose header names no unit is not a time', () => {
    const [t] = readTables('### x\n\n| case | steps |\n|---|---:|\n| a | 12 |\n');
    expect(plotTable(t!)).toBeNull();
  });
});
