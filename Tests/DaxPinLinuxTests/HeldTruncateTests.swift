import DaxPinCore
@testable import DaxPinLinux
import Foundation
import Glibc
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
    /// reference, for either access, while io_uring's cells pin and unpin beside the hold.
    @Test func pageCacheTruncateCompletesWhileHeld() throws {
      let dirs = try ScratchDirs()
      let kernel = RecordingKernel(LinuxKernel())
      let all = try ProbeEngine(
        kernel: kernel, targets: dirs.targets(), features: thisKernel, interfaces: [.ioUring, .truncateHeld], kinds: [.pagecacheShared, .anon]
      ).run()
      #expect(all.count == 8)
      #expect(all.prefix(4).allSatisfy { $0.interface == .ioUring })
      #expect(all.first { $0.interface == .ioUring && $0.memory.kind == .anon && $0.access == .rw }?.outcome == .pinned)
      let results = all.filter { $0.interface == .truncateHeld }
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

    /// The seam call itself: files really are truncated under one hold (10 s at most, over as soon
    /// as both page-cache truncates return), the held bytes are what vmsplice took, a page it
    /// cannot read (PROT_NONE) is EFAULT from vmsplice for that target alone,
    /// and every pipe and every thread's duplicate descriptor is closed when the call returns.
    @Test func theMeasurementAndItsErrors() throws {
      let dirs = try ScratchDirs()
      let k = LinuxKernel()
      let dir = try k.openDirectory(dirs.pagecache, in: nil).get()
      defer { k.close(dir) }
      var targets: [HeldTruncateTarget] = []
      var paths: [String] = []
      defer {
        for t in targets {
          _ = k.unmap(t.mapping)
          k.close(t.file)
        }
        for p in paths { _ = k.unlink((p as NSString).lastPathComponent, in: dir, directory: false) }
      }
      for name in ["a", "b"] {
        let fd = try k.open(name, in: dir, writable: true, create: true).get()
        paths.append(dirs.pagecache + "/" + name)
        try k.truncate(fd, length: 1 << 20).get()
        let m = try k.map(length: 1 << 20, protection: .readWrite, source: .file(fd, shared: true)).get()
        try k.fault(m, pageSize: 4096, write: true).get()
        targets.append(HeldTruncateTarget(file: fd, mapping: m, heldBytes: 64 << 10))
      }
      // A page vmsplice cannot read: PROT_NONE, and kept mapped across the call, so no other
      // mapping (another suite's, or a truncate thread's stack) can take its address meanwhile.
      let page = mmap(nil, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
      let reserved = try #require(page == MAP_FAILED ? nil : page)
      defer { munmap(reserved, 4096) }
      let refusedTarget = HeldTruncateTarget(file: targets[0].file, mapping: Mapping(address: UInt(bitPattern: reserved), length: 4096), heldBytes: 4096)
      func descriptors(of path: String) -> Int { openDescriptorTargets().filter { $0 == path }.count }
      #expect(paths.map(descriptors) == [1, 1], "the test's own descriptors")

      let answers = k.heldTruncate([targets[0], refusedTarget, targets[1]], holdMs: 10_000, waitMs: 5_000)
      #expect(answers.count == 3)
      #expect(answers[1].result == .failure(.badAddress), "vmsplice of a page it cannot read fails that target alone")
      for i in [0, 2] {
        let t = try answers[i].result.get()
        #expect(t.heldBytes == 64 << 10)
        #expect(t.returnedWhileHeld)
        #expect(t.returnedAfterRelease)
        #expect(t.truncateErrno == nil)
      }
      for p in paths { #expect(try FileManager.default.attributesOfItem(atPath: p)[.size] as? Int == 0, "\(p) was truncated") }
      let inodes = answers.map(\.pipeInode)
      #expect(inodes.allSatisfy { $0 != 0 } && Set(inodes).count == 3, "a pipe of its own for each target")
      let open = openDescriptorTargets()
      for inode in inodes { #expect(!open.contains("pipe:[\(inode)]"), "pipe \(inode) is closed") }
      #expect(paths.map(descriptors) == [1, 1], "every thread's duplicate of its file is closed")
      #expect(k.truncateUnderHeldPages([], holdMs: 10, waitMs: 10).isEmpty)
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
