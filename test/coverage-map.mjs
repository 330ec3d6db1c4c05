// tap's coverage map: every test file measures the TypeScript sources and the example API. The
// built package (dist/) and the example's launcher, which the packaging and `npm start` tests
// run in child processes, are left out.
export default function coverageMap () {
  return ['lib/**/*.{ts,mts,cts}', 'example/bookshop.mjs']
}
