import DaxPinCore
@testable import DaxPinLinux
import Foundation
import SystemPackage
import Testing

/// What this process's open descriptors point at (`/proc/self/fd/N` link targets). Other suites
/// run beside these tests and open descriptors of their own, so a test asks whether *its* objects
/// are still open — a pipe by inode, a file by path — never how many descriptors there are.
func openDescriptorTargets() -> [String] {
  ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).compactMap {
    try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
  }
}

extension ThisKernelPins {
  @Suite("truncate-held and page frames on this machine's kernel")
  struct HeldTruncateTests {
    /// The page-cache control on a real kernel: the truncate does not wait for the pipe's
    /// reference, for either access.
    @Test func pageCacheTruncateCompletesWhileHeld() throws {
      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let results = try ProbeEngine(
        kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.truncateHeld], kinds: [.pagecacheShared, .anon]
      ).run()
      #expect(results.count == 4)
      for r in results where r.memory.kind == .pagecacheShared {
        #expect(r.outcome == .completed, "\(r.id): \(r.reason ?? "")")
        #expect(r.verdict == .pass)
        #expect(!r.unsafe)
        #expect(r.expectation?.origin == "pagecache-truncate")
        #expect(r.request?.hasPrefix("vmsplice(64 KiB") == true)
        #expect(r.reason?.contains("while 64 KiB were held") == true)
      }
      for r in results where r.memory.kind == .anon {
        #expect(r.outcome == .unsupported)
        #expect(r.verdict == .skip)
      }
      #expect(kernel.held == .nothing)
      #expect(dirs.leftovers.isEmpty)
    }

    /// The seam call itself: a file really is truncated, the held bytes are what vmsplice took,
    /// and an address with nothing mapped is EFAULT from vmsplice with nothing left open.
    @Test func theMeasurementAndItsErrors() throws {
      let dirs = try ScratchDirs()
      let k = LinuxKernel()
      let dir = try k.openDirectory(dirs.pagecache, in: nil).get()
      defer { k.close(dir) }
      let fd = try k.open("f", in: dir, writable: true, create: true).get()
      defer {
        k.close(fd)
        _ = k.unlink("f", in: dir, directory: false)
      }
      try k.truncate(fd, length: 1 << 20).get()
      let m = try k.map(length: 1 << 20, protection: .readWrite, source: .file(fd, shared: true)).get()
      defer { _ = k.unmap(m) }
      try k.fault(m, pageSize: 4096, write: true).get()
      let path = dirs.pagecache + "/f"
      let fileDescriptors = openDescriptorTargets().filter { $0 == path }.count
      #expect(fileDescriptors == 1, "the test's own descriptor")
      let (measured, pipe) = k.heldTruncate(fd, m, heldBytes: 64 << 10, holdMs: 200, waitMs: 5_000)
      let t = try measured.get()
      #expect(pipe != 0)
      #expect(t.heldBytes == 64 << 10)
      #expect(t.returnedWhileHeld)
      #expect(t.returnedAfterRelease)
      #expect(t.truncateErrno == nil)
      #expect(try k.status(of: fd).get().type == .regular)
      #expect(try FileManager.default.attributesOfItem(atPath: dirs.pagecache + "/f")[.size] as? Int == 0, "the file was truncated")
      #expect(!openDescriptorTargets().contains("pipe:[\(pipe)]"), "the pipe is closed")
      #expect(openDescriptorTargets().filter { $0 == path }.count == fileDescriptors, "the thread's duplicate of the file is closed")

      let unmapped = try k.map(length: 4096, protection: .readWrite, source: .anonymous(hugetlb: false)).get()
      try k.unmap(unmapped).get()
      let (refused, refusedPipe) = k.heldTruncate(fd, unmapped, heldBytes: 4096, holdMs: 10, waitMs: 100)
      #expect(refused == .failure(.badAddress))
      #expect(refusedPipe != 0 && refusedPipe != pipe)
      #expect(!openDescriptorTargets().contains("pipe:[\(refusedPipe)]"), "the pipe vmsplice refused is closed")
      #expect(openDescriptorTargets().filter { $0 == path }.count == fileDescriptors)
    }

    /// devdax-kmem needs a node the administrator made: without --kmem-node the cells skip with the
    /// daxctl command that would make one.
    @Test func devdaxKmemSkipsWithoutAKmemNode() throws {
      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let results = try ProbeEngine(kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: [.devdaxKmem]).run()
      #expect(results.count == 2)
      for r in results {
        #expect(r.outcome == .unsupported)
        #expect(r.verdict == .skip)
        #expect(r.reason?.contains("no --kmem-node") == true)
        #expect(r.hint?.contains("daxctl reconfigure-device --mode=system-ram") == true)
      }
      #expect(!kernel.trace.contains(.bindMemory))
      #expect(kernel.held == .nothing)
    }

    /// The cheap page-frame check on a real pin: io_uring pins an anonymous buffer, and the report
    /// says where its 512 frames were before and after (as root, pagemap shows frame numbers).
    @Test func pinnedCellsCarryTheirPageFrames() throws {
      let dirs = try ScratchDirs()
      let results = try ProbeEngine(
        kernel: LinuxKernel(), targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring], kinds: [.anon], accesses: [.rw]
      ).run()
      let r = try #require(results.first)
      #expect(r.outcome == .pinned)
      let f = try #require(r.frames, "a pinned cell records its frames")
      #expect(f.pages == 512)
      #expect(f.before.pfn != nil && f.after.pfn != nil)
      if f.movableBefore > 0 && thisKernelVersion >= KernelVersion(5, 13) {
        #expect(f.movableAfter == 0, "FOLL_LONGTERM migrates ZONE_MOVABLE pages first: \(f.summary)")
      }
      if f.movableBefore == 0 { #expect(f.placement == .inPlace, "nothing to migrate: \(f.summary)") }
    }

    @Test func pagemapAndMemoryBlocks() throws {
      let k = LinuxKernel()
      let m = try k.map(length: 16 << 10, protection: .readWrite, source: .anonymous(hugetlb: false)).get()
      defer { _ = k.unmap(m) }
      #expect(try k.pageFrames(m).get() == [nil, nil, nil, nil], "nothing faulted yet")
      try k.fault(m, pageSize: 4096, write: true).get()
      let frames = try k.pageFrames(m).get()
      #expect(frames.allSatisfy { $0 != nil })
      let locations = try k.frameLocations(frames.compactMap { $0 }).get()
      #expect(locations.count == 4)
      #expect(locations.allSatisfy { $0.node != nil }, "every RAM frame is in a memory block of a node: \(locations)")
      #expect(PagemapEntry.frame(1 << 63 | 0x1234) == 0x1234)
      #expect(PagemapEntry.frame(0x1234) == nil, "not present")
      #expect(PagemapEntry.frame(1 << 63) == nil, "hidden without CAP_SYS_ADMIN")
    }
  }
}
