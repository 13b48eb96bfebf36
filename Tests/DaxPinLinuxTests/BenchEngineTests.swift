import DaxPinCore
@testable import DaxPinLinux
import Testing

extension ThisKernelPins {
  @Suite("daxpin bench on this machine's kernel: io_uring, structure and accounting (never timing)")
  struct BenchEngineTests {
    func run(_ memories: [BenchMemory], size: Int = 8 << 20, iterations: Int = 3) throws -> ([BenchResult], RecordingKernel) {
      let kernel = RecordingKernel(LinuxKernel())
      let limits = BenchLimits(memoryAvailable: kernel.memoryAvailable(), hugetlbFree2M: 0, devdaxSize: nil, memlockBytes: nil)
      let engine = BenchEngine(
        kernel: kernel, targets: ProbeTargets(), request: BenchRequest(interfaces: [.ioUring], memories: memories, size: size, iterations: iterations),
        limits: limits, clock: MonotonicClock.nanoseconds)
      return (try engine.run(), kernel)
    }

    @Test func everyPinnedByteComesBackAndTheAccountingReturns() throws {
      let (results, kernel) = try run([.anon4k, .thp, .memfd])
      #expect(results.count == 3)
      for r in results {
        #expect(r.status == .measured, "\(r.memory): \(r.reason ?? "")")
        #expect(r.bytes == 8 << 20 && r.iterations == 3)
        #expect(r.pinnedBytes == 4 * (8 << 20) && r.unpinnedBytes == r.pinnedBytes)
        #expect(r.leftPinnedKB == 0, "VmPin + VmLck back where the cell started")
        #expect((r.pinnedKB ?? 0) >= 8 << 10, "VmPin grows by the buffer while it is registered")
        #expect(r.request == "IORING_REGISTER_BUFFERS iov_len=0x800000")
        let pin = try #require(r.pinNs)
        #expect(pin.min <= pin.median && pin.median <= pin.p99 && pin.p99 <= pin.max)
      }
      #expect(results[0].anonHugePagesKB == 0, "MADV_NOHUGEPAGE: 4 KiB pages only")
      #expect(kernel.held == .nothing)
      #expect(kernel.pinAccounting().map { $0.pinnedKB + $0.lockedKB } == 0)
    }

    @Test func smapsAnonHugePagesIsRead() throws {
      // Whether THP backs the buffer depends on transparent_hugepage/enabled; the share read from
      // smaps is consistent with the kB either way.
      let (results, _) = try run([.thp], size: 4 << 20, iterations: 1)
      let thp = try #require(results.first)
      let kb = try #require(thp.anonHugePagesKB)
      #expect(kb >= 0 && kb <= 4 << 10 && kb % 2048 == 0)
      #expect(thp.hugePageShare == Double(kb) * 1024 / Double(4 << 20))
    }

    @Test func anEmptyHugetlbPoolIsASkipWithTheSysctl() throws {
      let (results, kernel) = try run([.hugetlb2m])
      #expect(results.first?.status == .skipped)
      #expect(results.first?.hint == "sysctl vm.nr_hugepages=4")
      #expect(kernel.held == .nothing)
    }

    @Test func anInterruptBetweenRoundsReleasesEverything() throws {
      let kernel = RecordingKernel(LinuxKernel())
      kernel.interrupt(afterCalls: 12)
      let engine = BenchEngine(
        kernel: kernel, targets: ProbeTargets(), request: BenchRequest(interfaces: [.ioUring], memories: [.anon4k, .memfd], size: 4 << 20, iterations: 5),
        limits: BenchLimits(memoryAvailable: nil, hugetlbFree2M: 0, devdaxSize: nil, memlockBytes: nil), clock: MonotonicClock.nanoseconds)
      #expect(throws: BenchEngine.Interrupted.self) { _ = try engine.run() }
      #expect(kernel.held == .nothing)
    }
  }
}
