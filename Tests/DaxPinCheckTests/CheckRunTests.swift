import DaxPinFake
import DaxPinXML
import SystemPackage
import Testing

@testable import DaxPinCore

func qemu(_ args: String) throws -> VMConfig { try QEMUConfigReader.read(arguments: words(args)) }

func check(_ config: VMConfig, _ profile: KernelProfile, topology: FakeTopology = .full, limits: ProcessLimits? = nil, probe: Bool = false)
  throws -> (CheckReport, FakeKernel)
{
  let fake = FakeKernel(profile: profile, topology: topology)
  return (try CheckRun(host: FakeHost(fake), config: config, limits: limits, probe: probe).run(), fake)
}

let vfio = "-device vfio-pci,host=0000:00:03.0"

@Suite("predictions on both sides of the 6.5 rule, through the fake kernel")
struct CheckRunTests {
  @Test func sharedPageCacheIsPinnedBefore65AndRefusedFrom65() throws {
    let config = try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on -machine memory-backend=m0 \(vfio)")
    let (old, _) = try check(config, .linux6_1)
    #expect(old.regions.count == 1)
    #expect(old.regions[0].interface == .vfioType1v2)
    #expect(old.regions[0].classification.kind == .pagecacheShared)
    #expect(old.regions[0].prediction == PinPrediction(
      outcome: .pinned, rule: "longterm-pin-allowed",
      basis: "anonymous, hugetlb, shmem, device-DAX and read-only or private page-cache pages may be pinned", fromRuleTable: true))
    #expect(old.summary.exitCode == 0)

    let (new, _) = try check(config, .linux6_12)
    #expect(new.regions[0].prediction == PinPrediction(
      outcome: .refused, errno: .badAddress, rule: "gup-file-dirty-tracking",
      basis: "6.5+: no FOLL_LONGTERM|FOLL_WRITE pin of a shared file mapping that needs dirty tracking; version fallback",
      cause: .fileWritebackPin, fix: "use share=off or memfd (memory-backend-memfd), or a mem-path on tmpfs or hugetlbfs", stage: .pin,
      fromRuleTable: true))
    #expect(new.summary == CheckReport.Summary(pinned: 0, refused: 1, unknown: 0, contradicted: 0))
    #expect(new.summary.exitCode == 1)
  }

  @Test func privatePageCacheMemfdAndTmpfsPinOnBothSides() throws {
    for profile in [KernelProfile.linux6_1, .linux6_12] {
      for backend in [
        "memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=off", "memory-backend-memfd,id=m0,size=64M",
        "memory-backend-file,id=m0,size=64M,mem-path=/dev/shm/vm.ram,share=on", "memory-backend-ram,id=m0,size=64M",
      ] {
        let (r, _) = try check(try qemu("-object \(backend) -machine memory-backend=m0 \(vfio)"), profile)
        #expect(r.regions.map(\.prediction.outcome) == [.pinned], "\(backend) on \(profile)")
        #expect(r.summary.exitCode == 0)
      }
    }
  }

  @Test func filesystemDAXIsRefusedEverywhere() throws {
    for profile in [KernelProfile.linux5_10, .linux6_1, .linux6_12, .linux7_3IOMMUFD] {
      let (r, _) = try check(try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/mnt/fsdax-ext4/vm.ram,share=on -machine memory-backend=m0 \(vfio)"), profile)
      #expect(r.regions[0].prediction.outcome == .refused)
      #expect(r.regions[0].prediction.errno == .notSupported)
      #expect(r.regions[0].prediction.rule == "gup-fsdax")
      #expect(r.regions[0].prediction.cause == .fsdaxLongtermPin)
      #expect(r.regions[0].prediction.fix == "put guest RAM on device-DAX (mem-path=/dev/daxX.Y,share=on,align=2M; ndctl create-namespace -m devdax), or use memfd")
    }
  }

  @Test func privateFsdaxCopiesPinThroughIOMMUFDButNotTheContainer() throws {
    let backend = "-object memory-backend-file,id=m0,size=64M,mem-path=/mnt/fsdax-xfs,share=off,prealloc=on -machine memory-backend=m0"
    let (container, _) = try check(try qemu("\(backend) \(vfio)"), .linux7_3IOMMUFD)
    #expect(container.regions.map(\.classification.kind) == [.fsdaxXfsPrivateCow])
    #expect(container.regions.map(\.prediction.rule) == ["gup-fsdax"])
    let (iommufd, _) = try check(try qemu("\(backend) -object iommufd,id=fd0 \(vfio),iommufd=fd0"), .linux7_3IOMMUFD)
    #expect(iommufd.regions.map(\.interface) == [.iommufd])
    #expect(iommufd.regions.map(\.prediction.outcome) == [.pinned])
    #expect(iommufd.regions.map(\.prediction.rule) == ["gup-fast-anon-cow"])
    let (both, _) = try check(try qemu("\(backend) -object iommufd,id=fd0 \(vfio),iommufd=fd0 -device vfio-pci,host=0000:00:04.0"), .linux7_3IOMMUFD)
    #expect(both.regions.map(\.interface) == [.vfioType1v2, .iommufd], "each region is judged for each path its devices use")
    #expect(both.devices.map(\.onThisHost) == ["IOMMU group 1, driver vfio-pci", "in no IOMMU group here"])
  }

  @Test func deviceDAXNeedsAlignAndShare() throws {
    func devdax(_ opts: String) throws -> PinPrediction {
      try check(try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/dev/dax0.0\(opts) -machine memory-backend=m0 \(vfio)"), .linux6_12).0.regions[0].prediction
    }
    #expect(try devdax(",share=on") == PinPrediction(
      outcome: .refused, errno: .invalidArgument, rule: "devdax-mmap-align",
      basis:
        "the device's align is 2 MiB; QEMU maps it at the page size (no align=), and check_vma refuses an unaligned mapping with EINVAL: QEMU fails with \"unable to map backing store for guest RAM: Invalid argument\"",
      cause: .devdaxAlignment, fix: "align=2M", stage: .mmap, fromRuleTable: false))
    #expect(try devdax(",share=on,align=4K").cause == .devdaxAlignment)
    #expect(try devdax(",share=on,align=2M") == PinPrediction(
      outcome: .pinned, rule: "longterm-pin-allowed", basis: "anonymous, hugetlb, shmem, device-DAX and read-only or private page-cache pages may be pinned",
      fromRuleTable: true))
    #expect(try devdax(",share=on,align=1G").outcome == .pinned)
    #expect(try devdax(",align=2M").cause == .devdaxPrivateMapping)
    #expect(try devdax(",align=2M").fix == "share=on")
  }

  /// check and explain speak one vocabulary: what check predicts for a configuration is among
  /// the causes explain gives for the line QEMU prints when it fails, and spelled the same in
  /// both JSON documents.
  @Test func checkAndExplainNameTheSameCause() throws {
    let cases: [(String, String)] = [
      ("mem-path=/dev/dax0.0,share=on", "unable to map backing store for guest RAM: Invalid argument"),
      ("mem-path=/dev/dax0.0,align=2M", "unable to map backing store for guest RAM: Invalid argument"),
      ("mem-path=/mnt/fsdax-ext4/vm.ram,share=on", "vfio_dma_map(0x55d1, 0x100000000, 0x4000000, 0x7f3c00000000) = -95 (Operation not supported)"),
      ("mem-path=/var/tmp/vm.ram,share=on", "vfio_dma_map(0x55d1, 0x100000000, 0x4000000, 0x7f3c00000000) = -14 (Bad address)"),
    ]
    for (backend, message) in cases {
      let object = "memory-backend-file,id=m0,size=64M,\(backend)"
      let (report, _) = try check(try qemu("-object \(object) -machine memory-backend=m0 \(vfio)"), .linux6_12)
      let cause = try #require(report.regions[0].prediction.cause)
      let line = "qemu-system-x86_64: -object \(object): \(message)"
      let explained = Explainer(kernel: KernelVersion(6, 12)).explain(line).causes.map(\.cause)
      #expect(explained.contains(cause), "\(backend): check says \(cause), explain \(explained)")
      #expect(try ReportJSON.encode(report).contains("\"cause\" : \"\(cause.rawValue)\""))
    }
  }

  @Test func virtioMemPastTheDMAEntryLimit() throws {
    let config = try qemu(
      "-m 1G -object memory-backend-ram,id=vm0,size=128G -device virtio-mem-pci,id=vmem0,memdev=vm0,block-size=2M,requested-size=1G \(vfio)")
    let (r, _) = try check(config, .linux6_12)
    #expect(r.regions.map(\.prediction.outcome) == [.pinned, .refused])
    #expect(r.regions[1].prediction.errno == .noSpace)
    #expect(r.regions[1].prediction.cause == .dmaEntryLimit)
    #expect(r.regions[1].prediction.fix == "block-size=4M or larger on the virtio-mem device, or raise vfio_iommu_type1.dma_entry_limit")
    let big = try qemu("-m 1G -object memory-backend-ram,id=vm0,size=128G -device virtio-mem-pci,id=vmem0,memdev=vm0,block-size=4M \(vfio)")
    #expect(try check(big, .linux6_12).0.regions.map(\.prediction.outcome) == [.pinned, .pinned])
  }

  @Test func memlockOfARunningVMM() throws {
    let config = try qemu(
      "-object memory-backend-memfd,id=a,size=64M -object memory-backend-memfd,id=b,size=64M -numa node,memdev=a -numa node,memdev=b \(vfio)")
    let (r, _) = try check(config, .linux6_12, limits: ProcessLimits(capIPCLock: false, memlockBytes: 100 << 20))
    #expect(r.regions.map(\.prediction.outcome) == [.pinned, .refused])
    #expect(r.regions[1].prediction.errno == .noMemory)
    #expect(r.regions[1].prediction.cause == .memlockLimit)
    #expect(r.regions[1].prediction.fix == "raise the VMM's RLIMIT_MEMLOCK to at least 128 MiB (LimitMEMLOCK=, ulimit -l), or give it CAP_IPC_LOCK")
    let (capable, _) = try check(config, .linux6_12, limits: ProcessLimits(capIPCLock: true, memlockBytes: 100 << 20))
    #expect(capable.regions.map(\.prediction.outcome) == [.pinned, .pinned])
  }

  @Test func readOnlyRegionsAskForReadAccess() throws {
    let (r, _) = try check(
      try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on,readonly=on -machine memory-backend=m0 \(vfio)"), .linux6_12)
    #expect(r.regions[0].region.access == .ro)
    #expect(r.regions[0].prediction.outcome == .pinned, "no FOLL_WRITE, no dirty tracking to protect")
  }

  @Test func withoutADeviceNothingIsPinnedButEveryRegionIsPredicted() throws {
    let (r, _) = try check(try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on -machine memory-backend=m0"), .linux6_12)
    #expect(r.hypothetical)
    #expect(r.devices.isEmpty)
    #expect(r.notes == [
      "no device is passed through: nothing is long-term pinned; each region is predicted as if one were, through the VFIO container (vfio-type1v2)"
    ])
    #expect(r.regions.map(\.prediction.outcome) == [.refused])
    #expect(r.summary.exitCode == 1)
  }

  @Test func cloudHypervisorPmemIsClassifiedButNotCounted() throws {
    let config = try CloudHypervisorConfigReader.read(arguments: [
      "--memory", "size=64M", "--pmem", "file=/var/tmp/pmem.img,size=64M", "--device", "path=/sys/bus/pci/devices/0000:00:03.0",
    ])
    let (r, _) = try check(config, .linux6_12)
    #expect(r.regions.map(\.region.dmaMapped) == [true, false])
    #expect(r.regions.map(\.prediction.outcome) == [.pinned, .refused])
    #expect(r.summary == CheckReport.Summary(pinned: 1, refused: 0, unknown: 0, contradicted: 0))
  }

  @Test func libvirtFixtureOnTheFake() throws {
    let config = try domain("numa-nvdimm.xml")
    let (r, _) = try check(config, .linux7_3IOMMUFD)
    #expect(r.regions.map(\.interface) == Array(repeating: Interface.vfioType1v2, count: 6) + Array(repeating: .iommufd, count: 6))
    let container = r.regions.prefix(6)
    #expect(container.map(\.classification.kind) == [.memfd, .memfd, .devdax, .fsdaxXfsShared, .pagecacheShared, .memfd])
    #expect(container.map(\.prediction.outcome) == [.pinned, .pinned, .pinned, .refused, .refused, .refused])
    #expect(container.map(\.prediction.rule) == [
      "longterm-pin-allowed", "longterm-pin-allowed", "longterm-pin-allowed", "gup-fsdax", "gup-file-dirty-tracking", "vfio-dma-entry-limit",
    ])
    let iommufd = r.regions.suffix(6)
    #expect(iommufd.map(\.prediction.rule) == [
      "longterm-pin-allowed", "longterm-pin-allowed", "longterm-pin-allowed", "gup-fsdax", "gup-file-dirty-tracking", "longterm-pin-allowed",
    ], "iommufd has no dma_entry_limit")
    #expect(container.map { $0.region.access } == [.rw, .rw, .rw, .ro, .rw, .rw])
  }
}

@Suite("--probe confirms through the one probe pipeline", .serialized)
struct CheckProbeTests {
  @Test func throughTheVMsOwnInterfaceWhereTheHostHasIt() throws {
    let config = try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on -machine memory-backend=m0 \(vfio)")
    let (r, fake) = try check(config, .linux6_12, probe: true)
    let p = try #require(r.regions[0].probe)
    #expect(p.interface == .vfioType1v2)
    #expect(p.outcome == .refused)
    #expect(p.errno == Errno.badAddress.rawValue)
    #expect(p.agrees == true)
    #expect(p.confirms)
    #expect(p.note == "through vfio-type1v2: refused EFAULT, as predicted")
    #expect(fake.files(under: "/var/tmp").isEmpty, "the scratch directory is gone")
    #expect(fake.held.fds == 0)
  }

  @Test func throughIOUringWhereTheHostHasNoDevice() throws {
    let config = try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/var/tmp/vm.ram,share=on -machine memory-backend=m0 \(vfio)")
    let (r, _) = try check(config, .linux6_12, topology: .noVFIO, probe: true)
    let p = try #require(r.regions[0].probe)
    #expect(p.interface == .ioUring)
    #expect(p.agrees == true)
    #expect(p.confirms)
    #expect(
      p.note
        == "through io_uring, which needs no device (this host has no VFIO container (/dev/vfio/vfio)): refused EFAULT, the answer the rule table gives io_uring [gup-file-dirty-tracking] and vfio-type1v2 [gup-file-dirty-tracking] alike: it bears the prediction out; the vfio-type1v2 answer itself comes from the rule table")
  }

  @Test func aSubstituteThatAnswersOtherwiseIsNotTakenForAConfirmation() throws {
    let config = try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/mnt/fsdax-ext4,share=off,prealloc=on -machine memory-backend=m0 \(vfio)")
    let (r, _) = try check(config, .linux6_12, topology: .noVFIO, probe: true)
    let p = try #require(r.regions[0].probe)
    #expect(r.regions[0].prediction.outcome == .refused)
    #expect(p.outcome == .pinned)
    #expect(p.agrees == true)
    #expect(!p.confirms)
    #expect(
      p.note
        == "through io_uring, which needs no device (this host has no VFIO container (/dev/vfio/vfio)): pinned, as the rule table says for io_uring [gup-fast-anon-cow]; vfio-type1v2 answers otherwise on this kernel, so this does not test the prediction (refused EOPNOTSUPP), which comes from the rule table")
  }

  @Test func whatIsRefusedBeforeAnyPinIsNotProbed() throws {
    let config = try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/dev/dax0.0,share=on -machine memory-backend=m0 \(vfio)")
    let (r, fake) = try check(config, .linux6_12, probe: true)
    #expect(r.regions[0].probe == CheckProbe(note: "not probed: the refusal comes at the VMM's mmap, not from a pin of this memory kind; the answer comes from devdax-mmap-align"))
    #expect(fake.held.mappings == 0)
  }

  @Test func deviceDAXIsProbedOnTheVMsOwnDevice() throws {
    let config = try qemu("-object memory-backend-file,id=m0,size=64M,mem-path=/dev/dax0.0,share=on,align=2M -machine memory-backend=m0 \(vfio)")
    let (r, _) = try check(config, .linux6_1, probe: true)
    #expect(r.regions[0].probe?.note == "through vfio-type1v2: pinned, as predicted")
  }
}
