import Foundation
import SystemPackage
import Testing

@testable import DaxPinCore

/// One error line in the format a tool prints it, and the top cause `daxpin explain` must name
/// on a 6.12 and on a 6.1 kernel.
struct ExplainFixture: Sendable, CustomTestStringConvertible {
  var name: String
  var line: String
  var source: Recogniser
  var on612: PinCause
  var on61: PinCause
  var testDescription: String { name }

  init(_ name: String, _ line: String, _ source: Recogniser, _ on612: PinCause, _ on61: PinCause? = nil) {
    self.name = name
    self.line = line
    self.source = source
    self.on612 = on612
    self.on61 = on61 ?? on612
  }
}

/// Lines in the exact formats the tools print (QEMU hw/vfio and backends/iommufd, libvirt, kata,
/// cloud-hypervisor, SPDK, mlx5, the kernel's vfio_iommu_type1 and device-DAX drivers). Where a
/// tool prints no fixed text of its own (an io_uring or ibverbs caller), the line is the shape
/// such callers print: the call's name and strerror or the negative errno.
let explainFixtures: [ExplainFixture] = [
  ExplainFixture(
    "QEMU < 8.2 vfio_dma_map EFAULT at the x86 RAM-above-4G IOVA",
    "qemu-system-x86_64: vfio_dma_map(0x560a3b6ed880, 0x100000000, 0x180000000, 0x7f6a47fff000) = -14 (Bad address)",
    .qemuDMAMap, .fileWritebackPin, .unknown),
  ExplainFixture(
    "QEMU vfio_container_dma_map EINVAL at a high IOVA",
    "qemu-system-x86_64: vfio_container_dma_map(0x55cc25705680, 0x380000000000, 0x1000000, 0x7f8762000000) = -22 (Invalid argument)",
    .qemuDMAMap, .unknown),
  ExplainFixture(
    "QEMU legacy container VFIO_MAP_DMA EFAULT",
    "qemu-system-x86_64: VFIO_MAP_DMA failed: Bad address",
    .qemuMapDMA, .fileWritebackPin, .pfnmapNoStructPage),
  ExplainFixture(
    "QEMU iommufd IOMMU_IOAS_MAP EOPNOTSUPP",
    "qemu-system-x86_64: IOMMU_IOAS_MAP failed: Operation not supported",
    .qemuIOASMap, .fsdaxLongtermPin),
  ExplainFixture(
    "QEMU iommufd EFAULT with its PCI BAR? guess",
    "qemu-system-x86_64: warning: IOMMU_IOAS_MAP failed: Bad address, PCI BAR?",
    .qemuIOASMap, .pfnmapNoStructPage),
  ExplainFixture(
    "QEMU container setup, Region pc.ram, EFAULT",
    "qemu-system-x86_64: -device vfio-pci,host=0000:3b:00.0: vfio 0000:3b:00.0: failed to setup container for group 17: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -14 (Bad address)",
    .qemuDMAMap, .fileWritebackPin, .unknown),
  ExplainFixture(
    "QEMU container setup, Region pc.ram, ENOMEM",
    "qemu-system-x86_64: -device vfio-pci,host=0000:7c:00.0: vfio 0000:7c:00.0: failed to setup container for group 30: memory listener initialization failed: Region pc.ram: vfio_container_dma_map(0x5581c1a3e400, 0x100000000, 0x380000000, 0x7f2a40000000) = -12 (Cannot allocate memory)",
    .qemuDMAMap, .memlockLimit),
  ExplainFixture(
    "QEMU container setup wrapped before its DMA map (no errno)",
    "qemu-system-x86_64: -device vfio-pci,host=0000:7c:00.0: vfio 0000:7c:00.0: failed to setup container for group 17: memory listener initialization failed: Region pc.ram:",
    .qemuContainerSetup, .memlockLimit),
  ExplainFixture(
    "QEMU device-DAX backing store EINVAL",
    "qemu-system-x86_64: -object memory-backend-file,id=mem1,mem-path=/dev/dax0.0,size=4G,share=on,align=1G: unable to map backing store for guest RAM: Invalid argument",
    .qemuBackingStore, .devdaxAlignment),
  ExplainFixture(
    "libvirt qemuProcessReportLogError wrapping a DMA map EFAULT",
    #"2024-03-05 10:12:44.123+0000: 1234: error : qemuProcessReportLogError:2098 : internal error: qemu unexpectedly closed the monitor: 2024-03-05T10:12:44.001234Z qemu-system-x86_64: -device {"driver":"vfio-pci","host":"0000:3b:00.0","id":"hostdev0","bus":"pci.5","addr":"0x0"}: vfio 0000:3b:00.0: failed to setup container for group 93: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -14 (Bad address)"#,
    .qemuDMAMap, .fileWritebackPin, .unknown),
  ExplainFixture(
    "kata logfmt line wrapping ENOMEM on ram-node0",
    #"time="2024-03-05T10:12:44.123456789Z" level=error msg="qemu-system-x86_64: -device vfio-pci,host=0000:3b:00.0: vfio 0000:3b:00.0: failed to setup container for group 93: memory listener initialization failed: Region ram-node0: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -12 (Cannot allocate memory)" name=containerd-shim-v2 pid=4242 sandbox=4f0c source=virtcontainers subsystem=qemu"#,
    .qemuDMAMap, .memlockLimit),
  ExplainFixture(
    "kata JSON line wrapping a DMA map EFAULT",
    #"{"level":"error","msg":"qemu-system-x86_64: -device vfio-pci,host=0000:3b:00.0: vfio 0000:3b:00.0: failed to setup container for group 93: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -14 (Bad address)","name":"containerd-shim-v2","pid":4242,"source":"virtcontainers","subsystem":"qemu","time":"2024-03-05T10:12:44.123456789Z"}"#,
    .qemuDMAMap, .fileWritebackPin, .unknown),
  ExplainFixture(
    "cloud-hypervisor VfioDmaMap Error(12)",
    "Error booting VM: VmBoot(DeviceManager(VfioDmaMap(IommuDmaMap(Error(12)))))",
    .cloudHypervisor, .memlockLimit),
  ExplainFixture(
    "cloud-hypervisor VfioDmaMap Error(14)",
    "vm.add-device failed: VfioDmaMap(IommuDmaMap(Error(14)))",
    .cloudHypervisor, .fileWritebackPin, .pfnmapNoStructPage),
  ExplainFixture(
    "SPDK nvme_pcie CMB registration (a BAR)",
    "[2024-05-14 10:11:12.345678] nvme_pcie.c: 513:nvme_pcie_ctrlr_map_io_cmb: *ERROR*: spdk_mem_register() failed",
    .spdkMemRegister, .pfnmapNoStructPage),
  ExplainFixture(
    "SPDK registration of a buffer on pmem (no errno)",
    "[2024-05-14 10:11:12.345678] app.c: 210:register_buffers: *ERROR*: spdk_mem_register(0x7f2c40000000, 0x40000000) failed for a buffer on /mnt/pmem0",
    .spdkMemRegister, .fsdaxLongtermPin),
  ExplainFixture(
    "SPDK registration without context (no errno)",
    "[2024-05-14 10:11:12.345678] app.c: 210:register_buffers: *ERROR*: spdk_mem_register() failed",
    .spdkMemRegister, .memlockLimit),
  ExplainFixture(
    "SPDK VFIO map error 95",
    "[2024-05-14 10:11:12.345678] memory.c: 846:vtophys_iommu_map_dma: *ERROR*: Cannot set up DMA mapping, error 95",
    .spdkDMAMapping, .fsdaxLongtermPin),
  ExplainFixture("ibv_reg_mr without errno", "ibv_reg_mr failed", .rdmaRegMR, .memlockLimit),
  ExplainFixture("ibv_reg_mr ENOMEM", "ibv_reg_mr failed: Cannot allocate memory", .rdmaRegMR, .memlockLimit),
  ExplainFixture("registering memory -95", "Error registering memory: Unknown error -95", .rdmaRegMR, .fsdaxLongtermPin),
  ExplainFixture(
    "mlx5 mr_umem_get -95 (dmesg)", "[ 1234.567890] mlx5_0:mr_umem_get:1045:(pid 4321): umem get failed (-95)", .rdmaUmemGet,
    .fsdaxLongtermPin),
  ExplainFixture(
    "io_uring_register_buffers EOPNOTSUPP", "io_uring_register_buffers: Operation not supported", .ioUringRegisterBuffers,
    .fsdaxLongtermPin, .ioUringFileBacked),
  ExplainFixture(
    "io_uring_register_buffers -EOPNOTSUPP", "io_uring_register_buffers failed: -EOPNOTSUPP", .ioUringRegisterBuffers,
    .fsdaxLongtermPin, .ioUringFileBacked),
  ExplainFixture(
    "io_uring_register_buffers EOPNOTSUPP on an fsdax file",
    "fio: io_uring_register_buffers for /mnt/pmem0/fio.dat (fsdax): Operation not supported", .ioUringRegisterBuffers,
    .fsdaxLongtermPin),
  ExplainFixture(
    "io_uring_register_buffers EFAULT", "io_uring_register_buffers: Bad address", .ioUringRegisterBuffers, .fileWritebackPin,
    .unknown),
  ExplainFixture(
    "kernel vfio_pin_pages_remote RLIMIT_MEMLOCK", "[  812.345678] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded",
    .kernelMemlock, .memlockLimit),
  ExplainFixture(
    "kernel device-DAX unaligned vma",
    "[  913.000001] device_dax dax0.0: qemu-system-x86: dax_mmap: fail, unaligned vma (0x7f3c00000000 - 0x7f3d00200000, 0x3fffffff)",
    .kernelDevdaxCheckVMA, .devdaxAlignment),
  ExplainFixture(
    "kernel device-DAX private mapping",
    "[  913.000002] device_dax dax1.0: fio: dax_mmap: fail, attempted private mapping", .kernelDevdaxCheckVMA, .devdaxPrivateMapping),
  ExplainFixture(
    "QEMU legacy container ENOSPC", "qemu-system-x86_64: VFIO_MAP_DMA failed: No space left on device", .qemuMapDMA,
    .dmaEntryLimit),
  ExplainFixture(
    "a message naming dma_entry_limit",
    "vfio_dma_do_map: VFIO_IOMMU_MAP_DMA failed: dma_entry_limit (65535) exceeded", .dmaEntryLimit, .dmaEntryLimit),
  ExplainFixture(
    "QEMU virtio-mem DMA mappings warning",
    "qemu-system-x86_64: warning: vfio_ram_discard_register_listener: possibly running out of DMA mappings. E.g., try increasing the 'block-size' of virtio-mem devies. Maximum possible DMA mappings: 65535, Maximum possible memslots: 32764",
    .qemuRunningOutOfDMAMappings, .dmaEntryLimit),
  ExplainFixture(
    "QEMU BAR peer-to-peer line", "0000:41:00.0: PCI peer-to-peer transactions on BARs are not supported.", .qemuBARPeerToPeer,
    .pfnmapNoStructPage),
  ExplainFixture(
    "QEMU warning (a RAM device) EFAULT",
    "qemu-system-x86_64: warning: vfio_container_dma_map(0x55cc25705680, 0x380000000000, 0x1000000, 0x7f8762000000) = -14 (Bad address)",
    .qemuDMAMap, .pfnmapNoStructPage),
  ExplainFixture(
    "QEMU container setup, a BAR region, EFAULT",
    "qemu-system-x86_64: -device vfio-pci,host=0000:41:00.0: vfio 0000:41:00.0: failed to setup container for group 5: memory listener initialization failed: Region 0000:41:00.0 BAR 1 mmaps[0]: vfio_dma_map(0x55cc25705680, 0x380000000000, 0x1000000, 0x7f8762000000) = -14 (Bad address)",
    .qemuDMAMap, .pfnmapNoStructPage),
  ExplainFixture(
    "QEMU hardware error after a vIOMMU map", "qemu: hardware error: vfio: DMA mapping failed, unable to continue",
    .qemuDMAMappingFailed, .memlockLimit),
]

@Suite("daxpin explain: recognising and ranking")
struct ExplainTests {
  let k612 = Explainer(kernel: KernelVersion(6, 12))
  let k61 = Explainer(kernel: KernelVersion(6, 1))

  @Test(arguments: explainFixtures)
  func topCause(_ f: ExplainFixture) {
    let on612 = k612.explain(f.line)
    #expect(on612.recognised == true)
    #expect(on612.source == f.source)
    #expect(on612.top?.cause == f.on612)
    let on61 = k61.explain(f.line)
    #expect(on61.source == f.source)
    #expect(on61.top?.cause == f.on61)
  }

  @Test func errnoIsReadAsTheToolPrintsIt() {
    let cases: [(String, String?)] = [
      ("vfio_dma_map(0x1, 0x100000000, 0x2, 0x3) = -14 (Bad address)", "EFAULT"),
      ("VFIO_MAP_DMA: -22", "EINVAL"),
      ("IOMMU_IOAS_MAP failed: Operation not supported", "EOPNOTSUPP"),
      ("VfioDmaMap(IommuDmaMap(Error(12)))", "ENOMEM"),
      ("VfioDmaMap(IommuDmaMap(Os { code: 14, kind: Uncategorized, message: \"Bad address\" }))", "EFAULT"),
      ("Cannot set up DMA mapping, error 28, ignored", "ENOSPC"),
      ("umem get failed (-95)", "EOPNOTSUPP"),
      ("Error registering memory: Unknown error -95", "EOPNOTSUPP"),
      ("io_uring_register_buffers failed: -EOPNOTSUPP", "EOPNOTSUPP"),
      ("io_uring_register_buffers failed: ENOTSUP", "EOPNOTSUPP"),
      ("io_uring_register_buffers: No such device or address", "ENXIO"),
      ("spdk_mem_register() failed", nil),
      // Addresses, sizes and dates after the anchor are not errnos.
      ("spdk_mem_register(0x7f2c40000000, 1073741824) failed at 2024-05-14", nil),
    ]
    for (line, name) in cases {
      let e = k612.explain(line)
      #expect(e.recognised == true, "\(line)")
      #expect(e.errnoName == name, "\(line)")
    }
  }

  @Test func unrecognisedLinesHaveNoCauses() {
    for line in [
      "hello world", "Bad address", "-14 (Bad address)", "dma_entry_limit 65535", "ibv_reg_mr done, lkey 0x1234",
      "calling io_uring_register_buffers with 16 buffers", "[    0.000000] Linux version 6.1.0-28-amd64",
    ] {
      let e = k612.explain(line)
      #expect(e.recognised == false, "\(line)")
      #expect(e.causes.isEmpty)
      #expect(e.source == nil)
    }
  }

  /// The same EFAULT on guest RAM and on a BAR ranks differently.
  @Test func efaultOnGuestRAMAndOnABARRankDifferently() {
    let ram =
      "qemu-system-x86_64: -device vfio-pci,host=0000:41:00.0: vfio 0000:41:00.0: failed to setup container for group 5: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55cc25705680, 0x100000000, 0x180000000, 0x7f8762000000) = -14 (Bad address)"
    let bar =
      "qemu-system-x86_64: -device vfio-pci,host=0000:41:00.0: vfio 0000:41:00.0: failed to setup container for group 5: memory listener initialization failed: Region 0000:41:00.0 BAR 1 mmaps[0]: vfio_dma_map(0x55cc25705680, 0x380000000000, 0x1000000, 0x7f8762000000) = -14 (Bad address)"
    let r = k612.explain(ram)
    let b = k612.explain(bar)
    #expect(r.region == "pc.ram")
    #expect(r.memory == .guestRAM)
    #expect(r.causes.map(\.cause) == [.fileWritebackPin, .unknown, .pfnmapNoStructPage])
    #expect(r.causes.map(\.confidence) == [.high, .low, .low])
    #expect(b.region == "0000:41:00.0 BAR 1 mmaps[0]")
    #expect(b.memory == .mmio)
    #expect(b.causes.map(\.cause) == [.pfnmapNoStructPage, .fileWritebackPin])
    #expect(b.causes.map(\.confidence) == [.high, .low])
    // Without a region the errno alone is ambiguous: both stay medium, with a way to tell.
    let bare = k612.explain("qemu-system-x86_64: VFIO_MAP_DMA failed: Bad address")
    #expect(bare.causes.map(\.cause) == [.fileWritebackPin, .pfnmapNoStructPage])
    #expect(bare.causes.map(\.confidence) == [.medium, .medium])
    #expect(bare.distinguish.count == 1)
    #expect(bare.distinguish[0].contains("daxpin check qemu --pid PID"))
    #expect(r.distinguish.count == 1)
    #expect(r.distinguish[0].contains("to see what backs `pc.ram`"))
    #expect(b.distinguish.isEmpty)
  }

  /// file-writeback-pin holds from 6.5, io_uring-file-backed before it.
  @Test func versionGating() {
    let line =
      "qemu-system-x86_64: -device vfio-pci,host=0000:3b:00.0: vfio 0000:3b:00.0: failed to setup container for group 17: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -14 (Bad address)"
    func writeback(_ v: KernelVersion?) -> RankedCause? {
      Explainer(kernel: v).explain(line).causes.first { $0.cause == .fileWritebackPin }
    }
    for v in [KernelVersion(6, 5), KernelVersion(6, 12), KernelVersion(7, 3)] {
      #expect(writeback(v)?.appliesHere == true)
      #expect(writeback(v)?.confidence == .high)
    }
    for v in [KernelVersion(6, 1), KernelVersion(6, 4), KernelVersion(5, 10)] {
      #expect(writeback(v)?.appliesHere == false)
      #expect(writeback(v)?.confidence == .low)
    }
    #expect(writeback(nil)?.appliesHere == nil)
    #expect(writeback(nil)?.confidence == .medium)

    let ring = "io_uring_register_buffers: Operation not supported"
    func fileBacked(_ v: KernelVersion) -> RankedCause? {
      Explainer(kernel: v).explain(ring).causes.first { $0.cause == .ioUringFileBacked }
    }
    #expect(fileBacked(KernelVersion(6, 1))?.appliesHere == true)
    #expect(fileBacked(KernelVersion(5, 10))?.appliesHere == true)
    #expect(fileBacked(KernelVersion(6, 5))?.appliesHere == false)
    #expect(fileBacked(KernelVersion(6, 5))?.confidence == .low)
    #expect(fileBacked(KernelVersion(5, 0))?.appliesHere == false)

    #expect(PinCause.dmaEntryLimit.applies(on: KernelVersion(4, 19)) == nil)
    #expect(PinCause.dmaEntryLimit.applies(on: KernelVersion(5, 1)) == true)
    #expect(PinCause.fsdaxLongtermPin.applies(on: KernelVersion(4, 14)) == false)
    #expect(PinCause.unknown.applies(on: KernelVersion(6, 1)) == nil)
  }

  @Test func causeFactsAndCommands() {
    let fsdax = try! #require(k612.explain("qemu-system-x86_64: IOMMU_IOAS_MAP failed: Operation not supported").top)
    #expect(fsdax.errnoName == "EOPNOTSUPP")
    #expect(fsdax.origin == "gup-fsdax")
    #expect(fsdax.command == "daxpin probe --interface iommufd --kind fsdax-ext4-shared --kind fsdax-xfs-shared --access rw")
    let wb = try! #require(k612.explain("qemu-system-x86_64: VFIO_MAP_DMA failed: Bad address").top)
    #expect(wb.command == "daxpin probe --interface vfio-type1v2 --kind pagecache-shared --access rw")
    #expect(wb.kernels == "6.5 and later")
    let devdax = try! #require(
      k612.explain(
        "qemu-system-x86_64: -object memory-backend-file,id=mem1,mem-path=/dev/dax0.0,size=4G,share=on,align=1G: unable to map backing store for guest RAM: Invalid argument"
      ).top)
    #expect(devdax.command == "daxpin probe --interface vfio-type1v2 --kind devdax --devdax /dev/dax0.0 --access rw")
    let memlock = try! #require(k612.explain("[  812.345678] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded").top)
    #expect(memlock.command == "daxpin inventory")
    #expect(memlock.errnoName == "ENOMEM")
    // An RDMA registration failure is shown through daxpin's own rdma probe.
    let rdma = try! #require(k612.explain("Error registering memory: Unknown error -95").top)
    #expect(rdma.command == "daxpin probe --interface rdma --kind fsdax-ext4-shared --kind fsdax-xfs-shared --access rw")
    let ring = try! #require(k61.explain("io_uring_register_buffers: Bad address").top)
    #expect(ring.cause == .unknown)
    #expect(ring.origin == "io_uring-write-pin")
    #expect(ring.errnoName == "EFAULT")
  }

  /// The three origins the rule table has are spelled as it spells them.
  @Test func originsReuseTheRuleTable() {
    let table = Set(Expectations.rules.map(\.origin))
    #expect(table.contains(PinCause.fsdaxLongtermPin.origin!))
    #expect(table.contains(PinCause.fileWritebackPin.origin!))
    #expect(table.contains(PinCause.ioUringFileBacked.origin!))
    #expect(PinCause.allCases.map(\.rawValue) == [
      "fsdax-longterm-pin", "file-writeback-pin", "io_uring-file-backed", "pfnmap-no-struct-page", "memlock-limit",
      "dma-entry-limit", "devdax-alignment", "devdax-private-mapping", "unknown",
    ])
    // A cause comes from the rule table only by one of its three origins.
    #expect(PinCause(ruleOrigin: "gup-fsdax") == .fsdaxLongtermPin)
    #expect(PinCause(ruleOrigin: "gup-file-dirty-tracking") == .fileWritebackPin)
    #expect(PinCause(ruleOrigin: "io_uring-file-policy") == .ioUringFileBacked)
    #expect(PinCause(ruleOrigin: "longterm-pin-allowed") == .unknown)
    #expect(PinCause(ruleOrigin: "devdax-check-vma") == .unknown, "not an origin of the rule table")
  }

  /// QEMU's EINVAL for a device-DAX mem-path names neither check: both device-DAX causes are
  /// candidates (alignment first: the line QEMU prints is the same), with how to tell them apart.
  @Test func devdaxEINVALNamesBothMappingChecks() throws {
    let e = k612.explain("qemu-system-x86_64: -object memory-backend-file,id=mem1,mem-path=/dev/dax0.0,size=4G: unable to map backing store for guest RAM: Invalid argument")
    let causes = e.causes.map(\.cause)
    #expect(causes.prefix(2) == [.devdaxAlignment, .devdaxPrivateMapping])
    #expect(e.causes[0].confidence == .high)
    #expect(e.causes[1].confidence == .medium)
    let privately = try #require(e.causes.first { $0.cause == .devdaxPrivateMapping })
    #expect(privately.errnoName == "EINVAL")
    #expect(privately.origin == "devdax-check-vma")
    #expect(privately.fix.contains("share=on"))
    #expect(e.distinguish.contains { $0.contains("attempted private mapping") && $0.contains("unaligned vma") })
    // The kernel's own line decides.
    #expect(k612.explain("device_dax dax0.0: qemu-system-x86: dax_mmap: fail, attempted private mapping").causes.map(\.cause) == [.devdaxPrivateMapping])
    #expect(k612.explain("device_dax dax0.0: qemu-system-x86: dax_mmap: fail, unaligned vma (0x7f3c00000000 - 0x7f3d00200000, 0x1fffff)").causes.map(\.cause) == [.devdaxAlignment])
  }

  @Test func jsonShape() throws {
    let lines = ExplainInput.lines(
      Array(
        """
        qemu-system-x86_64: VFIO_MAP_DMA failed: Bad address

        not an error at all
        [  812.345678] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded
        """.utf8), input: "log.txt")
    let report = ExplainReport(
      kernel: .init(release: "6.12.0-1-amd64", version: "6.12", from: "option"), lines: k612.explain(lines))
    let text = try ReportJSON.encode(report)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    #expect(Set(json.keys) == ["schema", "schema_version", "kernel", "lines", "summary"])
    #expect(json["schema"] as? String == "daxpin/explain")
    let summary = try #require(json["summary"] as? [String: Any])
    #expect(Set(summary.keys) == ["lines", "recognised", "unrecognised", "not_recognised", "exit_code"])
    #expect(summary["lines"] as? Int == 3)
    #expect(summary["unrecognised"] as? Int == 1)
    #expect(summary["not_recognised"] as? [String] == ["log.txt:3"])
    #expect(summary["exit_code"] as? Int == 0)
    #expect(json["kernel"] as? [String: String] == ["release": "6.12.0-1-amd64", "version": "6.12", "from": "option"])
    let l = try #require(json["lines"] as? [[String: Any]])
    #expect(l.map { $0["number"] as? Int } == [1, 3, 4])
    #expect(Set(l[0].keys) == ["input", "number", "line", "recognised", "source", "errno", "errno_name", "causes", "distinguish"])
    #expect(l[0]["source"] as? String == "qemu-vfio-map-dma")
    #expect(l[0]["errno"] as? Int == 14)
    // Not recognised: arrays stay arrays, absent facts are omitted.
    #expect(Set(l[1].keys) == ["input", "number", "line", "recognised", "causes", "distinguish"])
    #expect((l[1]["causes"] as? [Any])?.isEmpty == true)
    #expect((l[1]["distinguish"] as? [Any])?.isEmpty == true)
    // An implied errno is not the line's: the kernel line has none.
    #expect(Set(l[2].keys) == ["input", "number", "line", "recognised", "source", "implied_errno_name", "causes", "distinguish"])
    #expect(l[2]["implied_errno_name"] as? String == "ENOMEM")
    let cause = try #require((l[0]["causes"] as? [[String: Any]])?.first)
    #expect(
      Set(cause.keys) == ["cause", "confidence", "errno_name", "rule", "origin", "applies_here", "kernels", "fix", "command"])
    #expect(cause["cause"] as? String == "file-writeback-pin")
    #expect(cause["confidence"] as? String == "medium")
    #expect(cause["applies_here"] as? Bool == true)
    let pfn = try #require((l[0]["causes"] as? [[String: Any]])?.last)
    #expect(Set(pfn.keys) == ["cause", "confidence", "errno_name", "rule", "origin", "applies_here", "fix"])
    #expect(!text.contains("null"))
    #expect(!text.contains("score"))
    // And back.
    let decoded = try ReportJSON.decode(ExplainReport.self, from: text)
    #expect(decoded.lines.map(\.causes.count) == report.lines.map(\.causes.count))
    #expect(decoded.summary == report.summary)
  }

  @Test func inputLines() {
    var bytes = Array("first\r\n\n   \nsecond\nthird".utf8)
    var got = ExplainInput.lines(bytes, input: "-")
    #expect(got.map(\.number) == [1, 4, 5])
    #expect(got.map { String(decoding: $0.bytes, as: UTF8.self) } == ["first", "second", "third"])
    #expect(got.map(\.truncated) == [false, false, false])
    #expect(ExplainInput.lines([], input: "-").isEmpty)
    #expect(ExplainInput.lines(Array("\n\n".utf8), input: "-").isEmpty)

    // A line longer than 64 KiB is cut for matching; the message at its start still counts.
    bytes = Array("[  812.345678] vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded ".utf8)
    bytes += [UInt8](repeating: 0x41, count: 100_000)
    bytes += Array("\nnext".utf8)
    got = ExplainInput.lines(bytes, input: "big.log")
    #expect(got.count == 2)
    #expect(got[0].bytes.count == ExplainLimits.lineBytes)
    #expect(got[0].truncated == true)
    #expect(got[1].number == 2)
    let e = k612.explain(got[0])
    #expect(e.truncated == true)
    #expect(e.top?.cause == .memlockLimit)

    // Words past the first 64 KiB are not matched.
    let late = [UInt8](repeating: 0x78, count: 70_000) + Array("ibv_reg_mr failed".utf8)
    #expect(k612.explain(ExplainInput.lines(late, input: "-")[0]).recognised == false)

    // Invalid UTF-8 is shown with U+FFFD and still matched.
    let invalid: [UInt8] = [0xFF, 0xC3] + Array(" ibv_reg_mr failed: Cannot allocate memory ".utf8) + [0xED, 0xA0, 0x80]
    let x = k612.explain(ExplainInput.lines(invalid, input: "-")[0])
    #expect(x.top?.cause == .memlockLimit)
    #expect(x.line.hasPrefix("\u{FFFD}\u{FFFD} ibv_reg_mr"))
  }

  @Test func textBlock() {
    let e = k612.explain(
      "qemu-system-x86_64: -device vfio-pci,host=0000:3b:00.0: vfio 0000:3b:00.0: failed to setup container for group 17: memory listener initialization failed: Region pc.ram: vfio_dma_map(0x55d7b2c1f2a0, 0x100000000, 0x380000000, 0x7f3b80000000) = -14 (Bad address)"
    )
    let block = ExplainText.block(e).split(separator: "\n").map(String.init)
    #expect(block[1] == "  QEMU VFIO DMA map: EFAULT, region pc.ram (guest RAM: region name)")
    #expect(block[2] == "  1. file-writeback-pin (high) EFAULT [gup-file-dirty-tracking], applies to this kernel")
    #expect(block[5] == "     see: daxpin probe --interface vfio-type1v2 --kind pagecache-shared --access rw")
    #expect(block.last?.hasPrefix("  tell apart: For guest RAM, EFAULT is a shared page-cache file") == true)
    // Control characters in a line never reach the terminal.
    let esc = k612.explain("\u{1B}[31mibv_reg_mr failed\u{1B}[0m")
    #expect(ExplainText.block(esc).hasPrefix("argument 1: ␛[31mibv_reg_mr failed␛[0m\n"))
    // Nor do the bidirectional controls that make a terminal show a line in another order.
    let bidi = k612.explain("ibv_reg_mr failed \u{202E}deliberately\u{202C} \u{2066}x\u{2069}\u{200F}")
    #expect(ExplainText.block(bidi).hasPrefix("argument 1: ibv_reg_mr failed ⟨U+202E⟩deliberately⟨U+202C⟩ ⟨U+2066⟩x⟨U+2069⟩⟨U+200F⟩\n"))
    #expect("a\u{061C}b\u{200E}c".withVisibleControls == "a⟨U+61C⟩b⟨U+200E⟩c")
  }
}
