import SystemPackage

/// A bench buffer, mapped, advised, faulted in and confirmed before any timed call.
struct BenchBuffer {
  var memory: PreparedMemory
  /// `AnonHugePages` of the buffer after faulting (THP and 4 KiB anonymous memory), in kB.
  var anonHugePagesKB: Int?
}

/// Makes each bench memory through the kernel seam, registering every undo with the cell's
/// cleanup: the mapping (and for THP its 2 MiB of slack), the memfd or device descriptor.
/// Device-DAX is read-faulted, never written.
struct BenchBufferPreparer {
  let kernel: any Kernel
  static let huge = 2 << 20

  func prepare(_ memory: BenchMemory, bytes: Int, devdax: DevdaxTarget?, cleanup: Cleanup) -> Result<BenchBuffer, Unavailable> {
    do {
      return .success(try establish(memory, bytes: bytes, devdax: devdax, cleanup: cleanup))
    } catch let u as Unavailable {
      return .failure(u)
    } catch {
      return .failure(Unavailable(outcome: .setupFailed, reason: "\(error)"))
    }
  }

  private func establish(_ memory: BenchMemory, bytes: Int, devdax: DevdaxTarget?, cleanup: Cleanup) throws -> BenchBuffer {
    let kind: MemoryKind
    switch memory {
    case .anon4k, .thp: kind = .anon
    case .hugetlb2m: kind = .hugetlb2m
    case .memfd: kind = .memfd
    case .devdax: kind = .devdax
    }
    switch memory {
    case .anon4k, .thp:
      // 2 MiB more than asked, and the buffer starts at the first 2 MiB boundary inside: only
      // whole aligned extents can be huge pages. The whole mapping is unmapped by the cleanup.
      let whole = try mapped(kernel.map(length: bytes + Self.huge, protection: .readWrite, source: .anonymous(hugetlb: false)), cleanup)
      let start = (whole.address + UInt(Self.huge) - 1) / UInt(Self.huge) * UInt(Self.huge)
      let m = Mapping(address: start, length: bytes)
      try check(kernel.advise(m, memory == .thp ? .hugePage : .noHugePage), memory == .thp ? "madvise(MADV_HUGEPAGE)" : "madvise(MADV_NOHUGEPAGE)")
      try check(kernel.fault(m, pageSize: 4096, write: true), "fault in")
      let vma = try vmaInfo(m)
      let flag = memory == .thp ? "hg" : "nh"
      guard vma.flags.contains(flag) else {
        throw Unavailable(outcome: .setupFailed, reason: "smaps VmFlags lack \(flag) after madvise")
      }
      return BenchBuffer(
        memory: PreparedMemory(
          mapping: m, file: nil,
          description: MemoryDescription(kind: kind, size: bytes, confirmedBy: "smaps VmFlags \(flag), AnonHugePages \(vma.anonHugePagesKB) kB", faulted: "write")),
        anonHugePagesKB: vma.anonHugePagesKB)

    case .hugetlb2m:
      let m: Mapping
      switch kernel.map(length: bytes, protection: .readWrite, source: .anonymous(hugetlb: true)) {
      case .success(let v):
        cleanup.add("munmap") { _ = kernel.unmap(v) }
        m = v
      case .failure(let e) where e == .noMemory:
        throw Unavailable(
          outcome: .resourceLimited, reason: "mmap(MAP_HUGETLB) of \(ByteCount(bytes)) failed with ENOMEM: the 2 MiB pool ran short",
          hint: "sysctl vm.nr_hugepages=\(bytes / Self.huge)", errno: e)
      case .failure(let e):
        throw Unavailable(outcome: .setupFailed, reason: "mmap(MAP_HUGETLB) failed: \(e.name)", errno: e)
      }
      try check(kernel.fault(m, pageSize: Self.huge, write: true), "fault in")
      guard try vmaInfo(m).flags.contains("ht") else {
        throw Unavailable(outcome: .setupFailed, reason: "smaps VmFlags lack ht: the mapping is not hugetlb")
      }
      return BenchBuffer(
        memory: PreparedMemory(mapping: m, file: nil, description: MemoryDescription(kind: kind, size: bytes, confirmedBy: "smaps VmFlags ht", faulted: "write")))

    case .memfd:
      let fd = try opened(kernel.memfdCreate(name: "daxpin-bench"), cleanup, "memfd_create")
      try check(kernel.truncate(fd, length: bytes), "ftruncate")
      let m = try mapped(kernel.map(length: bytes, protection: .readWrite, source: .file(fd, shared: true)), cleanup)
      try check(kernel.fault(m, pageSize: 4096, write: true), "fault in")
      let vma = try vmaInfo(m)
      guard vma.path.hasPrefix("/memfd:") else {
        throw Unavailable(outcome: .setupFailed, reason: "smaps shows \(vma.path), not a memfd")
      }
      return BenchBuffer(
        memory: PreparedMemory(
          mapping: m, file: fd, description: MemoryDescription(kind: kind, size: bytes, path: vma.path, confirmedBy: "smaps: /memfd:", faulted: "write")))

    case .devdax:
      guard let dev = devdax else {
        throw Unavailable(
          outcome: .unsupported, reason: "no device-DAX device (/dev/daxX.Y)",
          hint: "ndctl create-namespace -m devdax, then --devdax /dev/daxX.Y, or run `daxpin lab --bench`")
      }
      switch kernel.characterDevice(dev.path) {
      case .success(let c) where c.isDeviceDAX: break
      case .success(let c): throw Unavailable(outcome: .setupFailed, reason: "\(dev.path) is character device \(c.number), not device-DAX")
      case .failure(let e): throw Unavailable(outcome: .setupFailed, reason: "\(dev.path): \(e.name)", errno: e)
      }
      let fd = try opened(kernel.open(dev.path, writable: true), cleanup, "open \(dev.path)")
      let m = try mapped(kernel.map(length: bytes, protection: .readWrite, source: .file(fd, shared: true)), cleanup)
      try check(kernel.fault(m, pageSize: 4096, write: false), "fault in")
      return BenchBuffer(
        memory: PreparedMemory(
          mapping: m, file: fd,
          description: MemoryDescription(kind: kind, size: bytes, path: dev.path, confirmedBy: "S_ISCHR, sysfs subsystem dax, align \(dev.align)", faulted: "read")))
    }
  }

  private func check(_ r: Result<Void, Errno>, _ what: String) throws {
    if case .failure(let e) = r { throw Unavailable(outcome: .setupFailed, reason: "\(what) failed: \(e.name)", errno: e) }
  }

  private func mapped(_ r: Result<Mapping, Errno>, _ cleanup: Cleanup) throws -> Mapping {
    switch r {
    case .success(let m):
      cleanup.add("munmap") { _ = kernel.unmap(m) }
      return m
    case .failure(let e):
      throw Unavailable(
        outcome: e == .noMemory ? .resourceLimited : .setupFailed, reason: "mmap failed: \(e.name)",
        hint: e == .noMemory ? "a smaller --size" : nil, errno: e)
    }
  }

  private func opened(_ r: Result<FileDescriptor, Errno>, _ cleanup: Cleanup, _ what: String) throws -> FileDescriptor {
    switch r {
    case .success(let fd):
      cleanup.add("close") { kernel.close(fd) }
      return fd
    case .failure(let e):
      throw Unavailable(
        outcome: .setupFailed, reason: "\(what): \(e.name)", hint: e == .permissionDenied || e == .notPermitted ? "run daxpin as root" : nil, errno: e)
    }
  }

  private func vmaInfo(_ m: Mapping) throws -> VMAInfo {
    switch kernel.vma(m) {
    case .success(let v): return v
    case .failure(let e): throw Unavailable(outcome: .setupFailed, reason: "reading smaps: \(e.name)", errno: e)
    }
  }
}
