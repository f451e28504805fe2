// docs/img/kdump-timeline.svg: from the panic to the saved dump, and where the agent runs.
// Usage: node scripts/draw/kdump-timeline.mjs [OUTDIR]
import { Svg, save } from './svg.mjs';

const W = 800;
const svg = new Svg(W, 330, 'kdump timeline: the window no userspace tool covers, and where pci-reset-agent runs');
svg.text(20, 24, 'A kdump run, left to right in time', { size: 15, weight: 'bold' });

// Phases of the run: [x0, x1, label lines, fill].
const lane = 70;
const phases = [
  [20, 115, ['crashed kernel', 'running, drivers', 'doing DMA'], '#e8eef7'],
  [115, 165, ['panic,', 'kexec'], '#f7d9d9'],
  [165, 240, ['capture', 'kernel', 'boots'], '#e8eef7'],
  [240, 335, ['IOMMU set up:', 'old tables', 'copied or not'], '#e8eef7'],
  [335, 420, ['built-in (=y)', 'drivers bind'], '#e8eef7'],
  [420, 520, ['initramfs:', 'pci-reset-agent'], '#cfe8cf'],
  [520, 625, ['udev loads', 'modules, drivers', 'bind'], '#e8eef7'],
  [625, 730, ['dump saved', '(makedumpfile)'], '#e8eef7'],
  [730, 780, ['reboot'], '#e8eef7'],
];
for (const [x0, x1, label, fill] of phases) {
  svg.rect(x0, lane, x1 - x0, 62, { fill, stroke: '#555555', rx: 2 });
  svg.text((x0 + x1) / 2, lane + 20, label, { size: 11, anchor: 'middle', weight: label[1] === 'pci-reset-agent' ? 'bold' : 'normal' });
}

// Stray DMA: from the panic until the agent resets the device.
const dma = 170;
svg.text(20, dma - 2, 'a device still running the crashed kernel\'s DMA:', { size: 12 });
svg.rect(115, dma, 305, 18, { fill: '#e06666', stroke: '#a33', rx: 2 });
svg.text(270, dma + 13, 'stray DMA continues', { size: 11, anchor: 'middle', fill: '#ffffff', weight: 'bold' });
svg.rect(420, dma, 100, 18, { fill: '#cfe8cf', stroke: '#5a5', rx: 2 });
svg.text(470, dma + 13, 'reset', { size: 11, anchor: 'middle', weight: 'bold' });
svg.rect(520, dma, 260, 18, { fill: '#f4f4f4', stroke: '#999999', rx: 2 });
svg.text(650, dma + 13, 'quiet until its driver starts it again', { size: 11, anchor: 'middle' });

// The window no userspace tool covers: panic to the first userspace process of the initramfs.
const win = 215;
svg.line(115, win, 420, win, { stroke: '#a33', width: 1.5 });
svg.line(115, win - 6, 115, win + 6, { stroke: '#a33', width: 1.5 });
svg.line(420, win - 6, 420, win + 6, { stroke: '#a33', width: 1.5 });
svg.text(267, win + 20, ['no userspace tool can run here:', 'only the kernel (and the IOMMU, if it translates) stands', 'between this DMA and memory'], { size: 11, anchor: 'middle', fill: '#a33' });

svg.line(470, 290, 470, 200, { arrow: true });
svg.text(470, 305, ['the agent: first thing in userspace,', 'before udev loads any driver module'], { size: 11, anchor: 'middle' });
svg.text(287, 146, 'decides the IOMMU case (docs/iommu.md)', { size: 10, anchor: 'middle', italic: true, fill: '#555555' });
save('kdump-timeline.svg', svg);
