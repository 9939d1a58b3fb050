// Runs before every test file. jsdom, the document the tests run against, does not implement
// window.matchMedia, and uPlot (the manager's stock chart, reached through the App import)
// calls it when its module loads. This stands in a media query that never matches and never
// changes, which is all uPlot does with it (it re-reads the device pixel ratio on change).

if (typeof window.matchMedia !== "function") {
  window.matchMedia = (query: string): MediaQueryList => {
    const noop = () => {};
    return {
      matches: false,
      media: query,
      onchange: null,
      addListener: noop,
      removeListener: noop,
      addEventListener: noop,
      removeEventListener: noop,
      dispatchEvent: () => false,
    };
  };
}
