import Testing

/// Every suite that pins memory through this machine's real kernel, in this test process, one test
/// at a time. VmPin and VmLck (`/proc/self/status`) are counted per process, and the probe and
/// bench read them before and after each pin: a pin another suite held meanwhile would be counted
/// as this cell's. The suites are nested here so `.serialized` covers all of them together.
@Suite("pins through this machine's kernel, one at a time", .serialized)
struct ThisKernelPins {}
