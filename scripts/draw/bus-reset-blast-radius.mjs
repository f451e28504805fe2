// docs/img/bus-reset-blast-radius.svg: what one reset reaches. A function-level reset (FLR, PM) stops
// one function; a secondary bus reset of a bridge resets every function below it, whatever driver
// serves them (the reason the planner refuses a raw bus reset next to a bound driver: docs/planner.md).
// Usage: node scripts/draw/bus-reset-blast-radius.mjs [OUTDIR]
import { Svg, save } from './svg.mjs';

const svg = new Svg(800, 330, 'Blast radius: an FLR resets one function, a secondary bus reset everything below the bridge');
svg.text(20, 24, 'What one reset reaches', { size: 15, weight: 'bold' });

function tree(ox, title, hit) {
  svg.text(ox + 170, 52, title, { size: 13, anchor: 'middle', weight: 'bold' });
  const box = (x, y, label, on) => {
    svg.rect(x, y, 150, 40, { fill: on ? '#e06666' : '#ffffff', stroke: '#555555' });
    svg.text(x + 75, y + 17, label, { size: 11, anchor: 'middle', fill: on ? '#ffffff' : '#222222', weight: on ? 'bold' : 'normal' });
  };
  box(ox + 95, 70, ['root port 00:1c.0', '(bridge)'], false);
  const kids = [
    [ox + 0, ['08:00.0 GPU', 'no driver, DMA on']],
    [ox + 175, ['08:00.1 HDA audio', 'snd_hda_intel bound']],
  ];
  svg.line(ox + 170, 110, ox + 170, 140);
  svg.line(ox + 75, 140, ox + 250, 140);
  kids.forEach(([x, label], i) => {
    svg.line(x + 75, 140, x + 75, 160);
    box(x, 160, label, hit.includes(i));
  });
  if (hit.length === 2) {
    svg.rect(ox - 10, 150, 345, 60, { fill: 'none', stroke: '#a33', dash: '6 4', width: 1.5 });
    svg.text(ox + 170, 232, ['Bridge Control SBR: both functions reset;', 'the audio driver is not told (no reset_prepare)'], { size: 11, anchor: 'middle', fill: '#a33' });
  } else {
    svg.text(ox + 170, 232, ['FLR or PM reset of 08:00.0:', 'its neighbour is untouched'], { size: 11, anchor: 'middle' });
  }
}
tree(30, 'function-level reset', [0]);
tree(430, 'secondary bus reset of 00:1c.0', [0, 1]);
svg.text(400, 300, ['The planner uses a bus reset only when everything below the bridge may be reset, and prefers the', 'kernel\'s own reset file, which tells bound drivers (pci_reset_bus / pci_dev_reset_prepare).'], { size: 11, anchor: 'middle', italic: true, fill: '#555555' });
save('bus-reset-blast-radius.svg', svg);
