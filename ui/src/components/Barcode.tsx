// A Code 128 barcode drawn as SVG, with its text printed underneath.

import { code128Widths } from "../scanner/code128";

const QUIET_ZONE_MODULES = 10;

export function Barcode({ text, height = 80 }: { text: string; height?: number }) {
  const widths = code128Widths(text);
  const bars: Array<{ x: number; width: number }> = [];
  let x = QUIET_ZONE_MODULES;
  widths.forEach((width, index) => {
    if (index % 2 === 0) bars.push({ x, width });
    x += width;
  });
  const totalModules = x + QUIET_ZONE_MODULES;
  return (
    <figure class="barcode">
      <svg viewBox={`0 0 ${totalModules} ${height}`} width={totalModules * 3} height={height} role="img" aria-label={text}>
        <rect x="0" y="0" width={totalModules} height={height} fill="#fff" />
        {bars.map((bar) => <rect key={bar.x} x={bar.x} y="0" width={bar.width} height={height} fill="#000" />)}
      </svg>
      <figcaption class="barcode-text">{text}</figcaption>
    </figure>
  );
}
