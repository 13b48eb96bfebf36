import CRDMA
import CVFIO
import DaxPinCore
import Glibc
import SystemPackage

/// The real kernel behind the seam: each requirement is one syscall or ioctl through CVFIO,
/// with EINTR retried in one place (`valueOrErrno`) and every other errno returned as data.
public struct LinuxKernel: Kernel {
  public init() {}

  /// Starts catching the terminating signals (`Signals`) so a probe can stop between steps and
  /// release what it holds; `reraiseInterrupt()` then ends the process by the signal.
  public static func catchInterrupts() { Signals.catchInterrupts() }
  public static var caughtSignal: Int32 { Signals.caughtSignal }
  public static func reraiseInterrupt() { Signals.reraiseInterrupt() }

  // MARK: files

  public func open(_ path: String, in directory: FileDescriptor?, writable: Bool, create: Bool) -> Result<FileDescriptor, Errno> {
    var flags = (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | CVFIO_O_NOFOLLOW
    if create { flags |= O_CREAT | O_EXCL }
    return RawPath.withCString(path) { p in valueOrErrno { openat(directory?.rawValue ?? AT_FDCWD, p, flags, 0o600) } }
      .map { FileDescriptor(rawValue: $0) }
  }

  public func openDirectory(_ path: String, in directory: FileDescriptor?) -> Result<FileDescriptor, Errno> {
    RawPath.withCString(path) { p in valueOrErrno { openat(directory?.rawValue ?? AT_FDCWD, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | CVFIO_O_NOFOLLOW) } }
      .map { FileDescriptor(rawValue: $0) }
  }

  public func close(_ fd: FileDescriptor) { system_close(fd.rawValue) }

  public func makeDirectory(_ name: String, in directory: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { mkdirat(directory.rawValue, name, 0o700) }
  }

  public func unlink(_ name: String, in directory: FileDescriptor, directory isDirectory: Bool) -> Result<Void, Errno> {
    nothingOrErrno { unlinkat(directory.rawValue, name, isDirectory ? AT_REMOVEDIR : 0) }
  }

  public func entries(_ directory: FileDescriptor) -> Result<[String], Errno> {
    // A duplicate fd: getdents moves the offset, and a caller may list the same directory again.
    let dup = valueOrErrno { openat(directory.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
    guard case .success(let fd) = dup else { return dup.map { _ in [] } }
    defer { system_close(fd) }
    var names: [String] = []
    var buf = [UInt8](repeating: 0, count: 32768)
    while true {
      let n = buf.withUnsafeMutableBytes { b in valueOrErrno { cvfio_getdents64(fd, b.baseAddress, UInt(b.count)) } }
      guard case .success(let count) = n else { return n.map { _ in [] } }
      if count == 0 { return .success(names) }
      var off = 0
      // struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
      while off < count {
        let reclen = Int(buf[off + 16]) | Int(buf[off + 17]) << 8
        let nameBytes = buf[(off + 19)..<(off + reclen)].prefix { $0 != 0 }
        let name = String(decoding: nameBytes, as: UTF8.self)
        if name != "." && name != ".." { names.append(name) }
        off += reclen
      }
    }
  }

  public func lock(_ directory: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { flock(directory.rawValue, LOCK_EX | LOCK_NB) }
  }

  public func memfdCreate(name: String) -> Result<FileDescriptor, Errno> {
    valueOrErrno { cvfio_memfd_create(name, CVFIO_MFD_CLOEXEC) }.map { FileDescriptor(rawValue: $0) }
  }

  public func truncate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> {
    nothingOrErrno { ftruncate(fd.rawValue, off_t(length)) }
  }

  public func allocate(_ fd: FileDescriptor, length: Int) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_fallocate(fd.rawValue, 0, 0, Int64(length)) }
  }

  public func status(_ path: String) -> Result<FileStatus, Errno> {
    guard !path.isEmpty else { return .failure(.noSuchFileOrDirectory) }
    return system_statx(path, followLinks: false).map(\.status)
  }

  public func status(of fd: FileDescriptor) -> Result<FileStatus, Errno> {
    system_statx("", in: fd.rawValue).map(\.status)
  }

  public func filesystem(_ path: String) -> Result<FilesystemInfo, Errno> {
    system_statfsType(path).flatMap { magic in
      system_statx(path).map { st in
        FilesystemInfo(
          magic: FilesystemMagic(rawValue: magic),
          blockBacked: st.raw.dev_major != 0 && FileTree(root: "").exists("/sys/dev/block/\(st.raw.dev_major):\(st.raw.dev_minor)"))
      }
    }
  }

  public func setDAXFlag(_ directory: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_set_dax_flag(directory.rawValue) }
  }

  public func characterDevice(_ path: String) -> Result<CharacterDevice, Errno> {
    // statx of "" is the working directory (AT_EMPTY_PATH), not a device.
    guard !path.isEmpty else { return .failure(.noSuchFileOrDirectory) }
    return system_statx(path, followLinks: true).flatMap { st in
      guard st.isCharacterDevice else { return .failure(.operationNotSupportedByDevice) }
      let number = DeviceNumber(major: st.raw.rdev_major, minor: st.raw.rdev_minor)
      let sys = "/sys/dev/char/\(number)"
      let files = FileTree(root: "")
      let subsystem = files.linkBasename(sys + "/subsystem")
      // Device-DAX: the device's own align (5.10+ dynamic dax), else its region's.
      let align = subsystem == "dax" ? (files.int(sys + "/align") ?? files.int(sys + "/device/dax_region/align")) : nil
      let size = subsystem == "dax" ? files.int(sys + "/size") : nil
      return .success(CharacterDevice(number: number, subsystem: subsystem, align: align, size: size))
    }
  }

  // MARK: memory

  public func map(length: Int, protection: Protection, source: MappingSource) -> Result<Mapping, Errno> {
    let prot = protection == .readWrite ? PROT_READ | PROT_WRITE : PROT_READ
    let p: UnsafeMutableRawPointer?
    switch source {
    case .anonymous(let hugetlb):
      p = mmap(nil, length, prot, MAP_PRIVATE | MAP_ANONYMOUS | (hugetlb ? MAP_HUGETLB : 0), -1, 0)
    case .file(let fd, let shared, let offset):
      p = mmap(nil, length, prot, shared ? MAP_SHARED : MAP_PRIVATE, fd.rawValue, off_t(offset))
    }
    guard let p, p != MAP_FAILED else { return .failure(Errno(rawValue: Glibc.errno)) }
    return .success(Mapping(address: UInt(bitPattern: p), length: length))
  }

  public func unmap(_ m: Mapping) -> Result<Void, Errno> {
    nothingOrErrno { munmap(UnsafeMutableRawPointer(bitPattern: m.address), m.length) }
  }

  public func protect(_ m: Mapping, _ protection: Protection) -> Result<Void, Errno> {
    nothingOrErrno {
      mprotect(UnsafeMutableRawPointer(bitPattern: m.address), m.length, protection == .readWrite ? PROT_READ | PROT_WRITE : PROT_READ)
    }
  }

  public func fault(_ m: Mapping, pageSize: Int, write: Bool) -> Result<Void, Errno> {
    guard let base = UnsafeMutableRawPointer(bitPattern: m.address) else { return .failure(.badAddress) }
    var sum: UInt8 = 0
    for offset in stride(from: 0, to: m.length, by: pageSize) {
      let p = (base + offset).assumingMemoryBound(to: UInt8.self)
      if write {
        p.pointee = UInt8(truncatingIfNeeded: offset >> 12) | 1
      } else {
        sum &+= p.pointee
      }
    }
    blackHole(sum)
    return .success(())
  }

  public func vma(_ m: Mapping) -> Result<VMAInfo, Errno> {
    // The errno of the read itself (EMFILE under a tiny RLIMIT_NOFILE) reaches the report.
    FileTree(root: "").readResult("/proc/self/smaps", limit: 64 << 20).flatMap { text in
      SmapsParser.vma(containing: m.address, in: text).map { .success($0) } ?? .failure(.noSuchFileOrDirectory)
    }
  }

  public func pinAccounting() -> PinAccounting? {
    guard let status = FileTree(root: "").read("/proc/self/status") else { return nil }
    guard let pin = ProcStatus.field("VmPin", in: status).flatMap({ Int($0) }),
      let lck = ProcStatus.field("VmLck", in: status).flatMap({ Int($0) })
    else { return nil }
    return PinAccounting(pinnedKB: pin, lockedKB: lck)
  }

  public func advise(_ m: Mapping, _ advice: MemoryAdvice) -> Result<Void, Errno> {
    nothingOrErrno {
      madvise(UnsafeMutableRawPointer(bitPattern: m.address), m.length, advice == .hugePage ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)
    }
  }

  public func memoryAvailable() -> Int? {
    guard let meminfo = FileTree(root: "").read("/proc/meminfo") else { return nil }
    return ProcStatus.field("MemAvailable", in: meminfo).flatMap { Int($0) }.map { $0 * 1024 }
  }

  // MARK: VFIO

  public func vfioAPIVersion(_ c: FileDescriptor) -> Result<Int32, Errno> { valueOrErrno { cvfio_get_api_version(c.rawValue) } }

  public func vfioCheckExtension(_ c: FileDescriptor, _ type: VFIOIOMMUType) -> Result<Bool, Errno> {
    valueOrErrno { cvfio_check_extension(c.rawValue, type.rawValue) }.map { $0 > 0 }
  }

  public func vfioGroupStatus(_ g: FileDescriptor) -> Result<VFIOGroupStatus, Errno> {
    var st = vfio_group_status()
    return nothingOrErrno { cvfio_group_get_status(g.rawValue, &st) }.map {
      VFIOGroupStatus(
        viable: st.flags & UInt32(VFIO_GROUP_FLAGS_VIABLE) != 0, containerSet: st.flags & UInt32(VFIO_GROUP_FLAGS_CONTAINER_SET) != 0)
    }
  }

  public func vfioGroupSetContainer(_ g: FileDescriptor, _ c: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_group_set_container(g.rawValue, c.rawValue) }
  }

  public func vfioGroupUnsetContainer(_ g: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_group_unset_container(g.rawValue) }
  }

  public func vfioGroupGetDeviceFD(_ g: FileDescriptor, device: String) -> Result<FileDescriptor, Errno> {
    valueOrErrno { cvfio_group_get_device_fd(g.rawValue, device) }.map { FileDescriptor(rawValue: $0) }
  }

  public func vfioSetIOMMU(_ c: FileDescriptor, _ type: VFIOIOMMUType) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_set_iommu(c.rawValue, type.rawValue) }
  }

  public func vfioIOMMUInfo(_ c: FileDescriptor) -> Result<VFIOIOMMUInfo, Errno> {
    var windows = [cvfio_iova_window](repeating: cvfio_iova_window(), count: 32)
    var count: UInt32 = 0
    var pgsizes: UInt64 = 0
    var avail: Int64 = -1
    return nothingOrErrno { cvfio_iommu_get_info(c.rawValue, &windows, 32, &count, &pgsizes, &avail) }.map {
      VFIOIOMMUInfo(
        ranges: windows.prefix(Int(count)).map { IOVARange(start: $0.start, last: $0.last) }, pageSizes: pgsizes,
        dmaAvailable: avail < 0 ? nil : avail)
    }
  }

  public func vfioMapDMA(_ c: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    var map = vfio_iommu_type1_dma_map()
    map.flags = UInt32(VFIO_DMA_MAP_FLAG_READ) | (m.access == .rw ? UInt32(VFIO_DMA_MAP_FLAG_WRITE) : 0)
    map.vaddr = m.vaddr
    map.iova = m.iova
    map.size = m.size
    return nothingOrErrno { cvfio_iommu_map_dma(c.rawValue, &map) }
  }

  public func vfioUnmapDMA(_ c: FileDescriptor, iova: UInt64, size: UInt64) -> Result<UInt64, Errno> {
    var unmap = vfio_iommu_type1_dma_unmap()
    unmap.iova = iova
    unmap.size = size
    return nothingOrErrno { cvfio_iommu_unmap_dma(c.rawValue, &unmap) }.map { unmap.size }
  }

  // MARK: vfio cdev + iommufd

  public func vfioDeviceBindIOMMUFD(_ d: FileDescriptor, iommufd: FileDescriptor) -> Result<UInt32, Errno> {
    var id: UInt32 = 0
    return nothingOrErrno { cvfio_device_bind_iommufd(d.rawValue, iommufd.rawValue, &id) }.map { id }
  }

  public func vfioDeviceAttachIOMMUFDPT(_ d: FileDescriptor, ptID: UInt32) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_device_attach_iommufd_pt(d.rawValue, ptID) }
  }

  public func vfioDeviceDetachIOMMUFDPT(_ d: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_device_detach_iommufd_pt(d.rawValue) }
  }

  public func iommufdAllocIOAS(_ fd: FileDescriptor) -> Result<UInt32, Errno> {
    var id: UInt32 = 0
    return nothingOrErrno { cvfio_iommufd_ioas_alloc(fd.rawValue, &id) }.map { id }
  }

  public func iommufdIOVARanges(_ fd: FileDescriptor, ioas: UInt32) -> Result<[IOVARange], Errno> {
    var windows = [cvfio_iova_window](repeating: cvfio_iova_window(), count: 16)
    var count: UInt32 = 0
    var align: UInt64 = 0
    return nothingOrErrno { cvfio_iommufd_ioas_iova_ranges(fd.rawValue, ioas, &windows, 16, &count, &align) }.map {
      windows.prefix(Int(count)).map { IOVARange(start: $0.start, last: $0.last) }
    }
  }

  static func ioasFlags(_ access: Access) -> UInt32 {
    IOMMU_IOAS_MAP_FIXED_IOVA.rawValue | IOMMU_IOAS_MAP_READABLE.rawValue | (access == .rw ? IOMMU_IOAS_MAP_WRITEABLE.rawValue : 0)
  }

  public func iommufdMap(_ fd: FileDescriptor, ioas: UInt32, _ m: DMAMapping) -> Result<Void, Errno> {
    var map = iommu_ioas_map()
    map.flags = Self.ioasFlags(m.access)
    map.ioas_id = ioas
    map.user_va = m.vaddr
    map.length = m.size
    map.iova = m.iova
    return nothingOrErrno { cvfio_iommufd_ioas_map(fd.rawValue, &map) }
  }

  public func iommufdMapFile(_ fd: FileDescriptor, ioas: UInt32, file: FileDescriptor, _ m: DMAMapping) -> Result<Void, Errno> {
    var map = iommu_ioas_map_file()
    map.flags = Self.ioasFlags(m.access)
    map.ioas_id = ioas
    map.fd = file.rawValue
    map.start = m.vaddr
    map.length = m.size
    map.iova = m.iova
    return nothingOrErrno { cvfio_iommufd_ioas_map_file(fd.rawValue, &map) }
  }

  public func iommufdUnmap(_ fd: FileDescriptor, ioas: UInt32, iova: UInt64, length: UInt64) -> Result<UInt64, Errno> {
    var unmap = iommu_ioas_unmap()
    unmap.ioas_id = ioas
    unmap.iova = iova
    unmap.length = length
    return nothingOrErrno { cvfio_iommufd_ioas_unmap(fd.rawValue, &unmap) }.map { unmap.length }
  }

  public func iommufdDestroy(_ fd: FileDescriptor, id: UInt32) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_iommufd_destroy(fd.rawValue, id) }
  }

  // MARK: io_uring

  public func ioUringSetup(entries: UInt32) -> Result<FileDescriptor, Errno> {
    var params = io_uring_params()
    return valueOrErrno { cvfio_io_uring_setup(entries, &params) }.map { FileDescriptor(rawValue: $0) }
  }

  public func ioUringRegisterBuffers(_ ring: FileDescriptor, _ buffers: [Mapping]) -> Result<Void, Errno> {
    // The iovecs live on the stack: `daxpin bench` calls this in its timed loop.
    withUnsafeTemporaryAllocation(of: iovec.self, capacity: buffers.count) { iovecs in
      for (i, b) in buffers.enumerated() {
        iovecs.initializeElement(at: i, to: iovec(iov_base: UnsafeMutableRawPointer(bitPattern: b.address), iov_len: b.length))
      }
      return nothingOrErrno { cvfio_io_uring_register_buffers(ring.rawValue, iovecs.baseAddress, UInt32(buffers.count)) }
    }
  }

  public func ioUringUnregisterBuffers(_ ring: FileDescriptor) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_io_uring_unregister_buffers(ring.rawValue) }
  }

  // MARK: RDMA (libibverbs, loaded at run time) and AF_XDP

  public func rdmaOpen() -> Result<RDMAContext, Errno> {
    var handle: UInt = 0
    var name = [CChar](repeating: 0, count: 64)
    var general: UInt64 = 0
    var rc: UInt32 = 0
    var ud: UInt32 = 0
    let err = crdma_open(&handle, &name, name.count, &general, &rc, &ud)
    guard err == 0 else { return .failure(Errno(rawValue: err)) }
    let device = name.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    return .success(RDMAContext(handle: handle, device: device, odp: RDMAODPCapabilities(general: general, rc: rc, ud: ud)))
  }

  public func rdmaRegisterMR(_ context: RDMAContext, _ mapping: Mapping, access: RDMAAccess) -> Result<RDMAMemoryRegion, Errno> {
    var mr: UInt = 0
    var lkey: UInt32 = 0
    let err = crdma_reg_mr(context.handle, mapping.address, mapping.length, access.rawValue, &mr, &lkey)
    return err == 0 ? .success(RDMAMemoryRegion(handle: mr, lkey: lkey)) : .failure(Errno(rawValue: err))
  }

  public func rdmaDeregisterMR(_ region: RDMAMemoryRegion) -> Result<Void, Errno> {
    let err = crdma_dereg_mr(region.handle)
    return err == 0 ? .success(()) : .failure(Errno(rawValue: err))
  }

  public func rdmaClose(_ context: RDMAContext) { crdma_close(context.handle) }

  public func xdpSocket() -> Result<FileDescriptor, Errno> {
    valueOrErrno { cvfio_xdp_socket() }.map { FileDescriptor(rawValue: $0) }
  }

  public func xdpRegisterUMEM(_ socket: FileDescriptor, _ mapping: Mapping, chunkSize: UInt32) -> Result<Void, Errno> {
    nothingOrErrno { cvfio_xdp_umem_reg(socket.rawValue, UInt64(mapping.address), UInt64(mapping.length), chunkSize) }
  }

  // MARK: process

  public func currentProcess() -> ProcessIdentity {
    let pid = getpid()
    return ProcessIdentity(pid: pid, effectiveUID: geteuid(), startTime: (try? processStartTime(pid).get()) ?? 0)
  }

  public func processStartTime(_ pid: Int32) -> Result<UInt64, Errno> {
    switch FileTree(root: "").readResult("/proc/\(pid)/stat") {
    case .failure(let e): return .failure(e == .noSuchFileOrDirectory ? .noSuchProcess : e)
    case .success(let text):
      // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
      guard let close = text.lastIndex(of: ")") else { return .failure(.ioError) }
      let fields = text[text.index(after: close)...].split(separator: " ")
      // fields[0] is field 3 (state); start time is field 22.
      guard fields.count > 19, let start = UInt64(fields[19]) else { return .failure(.ioError) }
      return .success(start)
    }
  }

  public func pendingSignal() -> Int32? {
    let s = Signals.caughtSignal
    return s == 0 ? nil : s
  }

  public func raise(_ signal: Int32) { _ = Glibc.raise(signal) }

  public func descriptorHeadroom() -> Int? {
    var limit = rlimit()
    guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }  // RLIM_INFINITY
    guard let dir = opendir("/proc/self/fd") else { return nil }
    defer { closedir(dir) }
    var open = -1  // the listing's own descriptor, closed again
    while let entry = readdir(dir) {
      if entry.pointee.d_name.0 != 46 { open += 1 }  // not "." or ".."
    }
    return Int(clamping: limit.rlim_cur) - open
  }
}

/// Keeps a value alive so the reads that produced it are not optimized away.
@inline(never)
func blackHole(_ v: UInt8) { _ = v }

/// `/proc/self/smaps`: a header line per VMA (`start-end perms offset dev inode path`), then
/// `Key: value` lines, `VmFlags:` among them.
enum SmapsParser {
  /// The VMA holding `address` in /proc/self/smaps text: its path (the header's sixth field on)
  /// and its VmFlags. Works on the UTF-8 bytes: the probe reads smaps once per cell, and in a TCG
  /// guest splitting every line of it into Strings cost a few milliseconds each time.
  static func vma(containing address: UInt, in text: String) -> VMAInfo? {
    var text = text
    return text.withUTF8 { b -> VMAInfo? in
      let n = b.count
      func string(_ s: Int, _ e: Int) -> String { String(decoding: UnsafeBufferPointer(rebasing: b[s..<e]), as: UTF8.self) }
      func hexDigit(_ c: UInt8) -> UInt? {
        switch c {
        case 0x30...0x39: UInt(c - 0x30)
        case 0x61...0x66: UInt(c - 0x61 + 10)
        case 0x41...0x46: UInt(c - 0x41 + 10)
        default: nil
        }
      }
      /// A hex number filling b[s..<e] exactly (as `UInt(_:radix: 16)`: a leading + allowed).
      func hex(_ s: Int, _ e: Int) -> UInt? {
        var i = s
        if i < e && b[i] == 0x2B { i += 1 }
        guard i < e else { return nil }
        var v: UInt = 0
        while i < e {
          guard let d = hexDigit(b[i]), v <= (UInt.max - d) / 16 else { return nil }
          v = v * 16 + d
          i += 1
        }
        return v
      }
      var inside = false
      var path = ""
      var anonHugePagesKB = 0
      var i = 0
      while i < n {
        var end = i
        while end < n && b[end] != 0x0A { end += 1 }
        defer { i = end + 1 }
        // A header: `start-end perms offset dev inode [path]`, the first "-" before the first " ".
        var dash = -1, space = -1
        var k = i
        while k < end && (dash < 0 || space < 0) {
          if b[k] == 0x2D && dash < 0 { dash = k }
          if b[k] == 0x20 && space < 0 { space = k }
          k += 1
        }
        if dash >= 0, space >= 0, dash < space, let start = hex(i, dash), let stop = hex(dash + 1, space) {
          inside = address >= start && address < stop
          if inside {
            // Five space-separated fields, then the rest, trimmed of spaces.
            var p = i
            for _ in 0..<5 {
              while p < end && b[p] == 0x20 { p += 1 }
              while p < end && b[p] != 0x20 { p += 1 }
            }
            while p < end && b[p] == 0x20 { p += 1 }
            var q = end
            while q > p && b[q - 1] == 0x20 { q -= 1 }
            path = string(p, q)
          }
        } else if inside, end - i >= 14, string(i, i + 14) == "AnonHugePages:" {
          var p = i + 14
          while p < end && b[p] == 0x20 { p += 1 }
          var kb = 0
          while p < end, b[p] >= 0x30, b[p] <= 0x39, kb < Int.max / 10 - 9 {
            kb = kb * 10 + Int(b[p] - 0x30)
            p += 1
          }
          anonHugePagesKB = kb
        } else if inside, end - i >= 8, string(i, i + 8) == "VmFlags:" {
          var flags: [String] = []
          var p = i + 8
          while p < end {
            while p < end && b[p] == 0x20 { p += 1 }
            let s = p
            while p < end && b[p] != 0x20 { p += 1 }
            if p > s { flags.append(string(s, p)) }
          }
          return VMAInfo(path: path, flags: flags, anonHugePagesKB: anonHugePagesKB)
        }
      }
      return nil
    }
  }
}
