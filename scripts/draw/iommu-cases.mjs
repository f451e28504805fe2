// docs/img/iommu-cases.svg: the five IOMMU cases as a grid: translation in the crashed kernel (before)
// against the capture kernel (now), what stray DMA does, and what the agent does by default.
// Usage: node scripts/draw/iommu-cases.mjs [OUTDIR]
import { Svg, save } from './svg.mjs';

const rows = [
  ['1', 'off', 'off', 'lands in the old kernel\'s memory: harmless for the dump', 'nothing (--all resets anyway)', '#e3f1e3'],
  ['2', 'off', 'on', 'faults: no mapping exists for it until drivers reinitialise', 'resets the devices in scope', '#fff3d6'],
  ['3a', 'on', 'on, ignored', 'old mappings, new kernel does not manage them: corruption likely', 'resets the devices in scope', '#f7d9d9'],
  ['3b', 'on', 'off (intel_iommu=off)', 'hits raw physical memory: the dump itself can be overwritten', 'resets the devices in scope', '#f7d9d9'],
  ['4', 'on', 'on, tables copied', 'keeps landing where it did (copied tables) until the device is reset', 'resets the devices in scope', '#fff3d6'],
];
const x = [20, 70, 160, 300, 590];
const W = 800;
const svg = new Svg(W, 60 + 48 * (rows.length + 1), 'The five IOMMU cases: translation before and now, and what the agent does');
svg.text(20, 24, 'IOMMU translation in the crashed kernel (before) and the capture kernel (now)', { size: 15, weight: 'bold' });
const head = ['case', 'before', 'now', 'stray DMA from a device not yet reset', 'pci-reset-agent'];
const top = 40;
svg.rect(20, top, W - 40, 40, { fill: '#eeeeee', stroke: '#555555', rx: 0 });
head.forEach((h, i) => svg.text(x[i] + 8, top + 25, h, { size: 12, weight: 'bold' }));
rows.forEach((r, i) => {
  const y = top + 40 + i * 48;
  svg.rect(20, y, W - 40, 48, { fill: r[5], stroke: '#555555', rx: 0 });
  svg.text(x[0] + 8, y + 29, r[0], { size: 16, weight: 'bold' });
  svg.text(x[1] + 8, y + 29, r[1], { size: 12, weight: r[1] === 'on' ? 'bold' : 'normal' });
  svg.text(x[2] + 8, y + 22, wrap(r[2], 20), { size: 12 });
  svg.text(x[3] + 8, y + 20, wrap(r[3], 44), { size: 11 });
  svg.text(x[4] + 8, y + 20, wrap(r[4], 28), { size: 11, weight: 'bold' });
});
for (const xi of x.slice(1)) svg.line(xi, top, xi, top + 40 + rows.length * 48, { stroke: '#555555' });
save('iommu-cases.svg', svg);

function wrap(text, width) {
  const out = [];
  let line = '';
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > width) {
      out.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(line);
  return out;
}
