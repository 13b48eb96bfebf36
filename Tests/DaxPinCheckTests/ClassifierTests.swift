import DaxPinFake
import SystemPackage
import Testing

@testable import DaxPinCore

func region(_ backing: RegionBacking, shared: Bool, prealloc: Bool = false) -> MemoryRegion {
  MemoryRegion(id: "m0", role: .ram, declaredBy: "-object test", size: 64 << 20, backing: backing, shared: shared, prealloc: prealloc)
}

func classify(_ fake: FakeKernel, _ r: MemoryRegion, dialect: VMMDialect = .qemu) -> RegionClassification {
  RegionClassifier(kernel: fake, inventory: FakeHost(fake).inventory(), dialect: dialect).classify(r)
}

/// Creates an empty file in the fake's filesystem, as a VM's existing backing file.
func createFile(_ fake: FakeKernel, _ name: String, in dir: String) throws {
  let d = try fake.openDirectory(dir, in: nil).get()
  defer { fake.close(d) }
  let f = try fake.open(name, in: d, writable: true, create: true).get()
  fake.close(f)
}

@Suite("regions classified with the probe's checks, through the fake kernel")
struct ClassifierTests {
  let fake = FakeKernel(profile: .linux6_12)

  @Test func aFileNotYetCreatedIsClassifiedByItsDirectory() {
    #expect(classify(fake, region(.file(path: "/var/tmp/vm.ram"), shared: true)) == RegionClassification(
      kind: .pagecacheShared, examined: "/var/tmp", evidence: "statfs ext4 on a block device, not on a DAX mount",
      missing: "/var/tmp/vm.ram does not exist yet: QEMU creates it in /var/tmp"))
    #expect(classify(fake, region(.file(path: "/var/tmp/vm.ram"), shared: false)).kind == .pagecachePrivate)
    #expect(classify(fake, region(.file(path: "/var/tmp"), shared: true), dialect: .cloudHypervisor) == RegionClassification(
      kind: .pagecacheShared, examined: "/var/tmp", evidence: "statfs ext4 on a block device, not on a DAX mount",
      notes: ["a directory: cloud-hypervisor creates its own file in it"]))
  }

  @Test func aMissingDirectoryIsClassifiedByTheNearestOneThatExists() {
    #expect(classify(fake, region(.file(path: "/srv/vms/a/vm.ram"), shared: true)) == RegionClassification(
      kind: .pagecacheShared, examined: "/", evidence: "statfs ext4 on a block device, not on a DAX mount",
      missing: "/srv is not on this host: classified by /, the nearest directory that is"))
  }

  @Test func filesystemDAXByMountForNewFilesAndByStatxForExistingOnes() throws {
    #expect(classify(fake, region(.file(path: "/mnt/fsdax-ext4/vm.ram"), shared: true)) == RegionClassification(
      kind: .fsdaxExt4Shared, examined: "/mnt/fsdax-ext4", evidence: "statfs ext4 on a block device, mounted dax=always (/mnt/fsdax-ext4)",
      missing: "/mnt/fsdax-ext4/vm.ram does not exist yet: QEMU creates it in /mnt/fsdax-ext4"))
    try createFile(fake, "vm.ram", in: "/mnt/fsdax-xfs")
    #expect(classify(fake, region(.file(path: "/mnt/fsdax-xfs/vm.ram"), shared: false)) == RegionClassification(
      kind: .fsdaxXfsPrivate, examined: "/mnt/fsdax-xfs/vm.ram", evidence: "statfs xfs on a block device, statx STATX_ATTR_DAX",
      notes: ["MAP_PRIVATE without prealloc: pages the guest has not written are the file's own pmem pages"]))
    #expect(classify(fake, region(.file(path: "/mnt/fsdax-xfs/vm.ram"), shared: false, prealloc: true)).kind == .fsdaxXfsPrivateCow)
    #expect(classify(fake, region(.file(path: "/mnt/fsdax-xfs"), shared: true)).notes == ["a directory: QEMU creates its own file in it"])
  }

  @Test func daxInodeMountsAreJudgedAsDAXWithANote() {
    let inode = FakeKernel(profile: .linux6_12, fsdaxMount: .inode)
    let c = classify(inode, region(.file(path: "/mnt/fsdax-ext4/vm.ram"), shared: true))
    #expect(c.kind == .fsdaxExt4Shared)
    #expect(c.notes == [
      "/mnt/fsdax-ext4 is mounted dax=inode: a file is DAX only where FS_XFLAG_DAX is set on it or inherited from its directory; judged as DAX"
    ])
  }

  @Test func deviceDAXWithItsAlignAndAbsentDevicesByName() {
    #expect(classify(fake, region(.file(path: "/dev/dax0.0"), shared: true)) == RegionClassification(
      kind: .devdax, examined: "/dev/dax0.0", evidence: "S_ISCHR, sysfs subsystem dax, align 2 MiB", devdaxAlign: 2 << 20))
    #expect(classify(fake, region(.file(path: "/dev/dax3.1"), shared: true)) == RegionClassification(
      kind: .devdax, examined: "/dev/dax3.1", evidence: "configuration: a /dev/daxX.Y name", missing: "/dev/dax3.1 is not on this host",
      notes: ["judged as device-DAX by its name; its align is read from sysfs where the device exists"]))
    #expect(classify(fake, region(.file(path: "/dev/zero"), shared: true)).kind == .memfd)
    #expect(classify(fake, region(.file(path: "/dev/zero"), shared: false)).kind == .anon)
    #expect(classify(fake, region(.file(path: "/dev/vfio/vfio"), shared: true)) == RegionClassification(
      kind: nil, examined: "/dev/vfio/vfio", evidence: "S_ISCHR 10:196 of the misc subsystem, not device-DAX"))
  }

  @Test func shmemHugetlbAndAnonymous() {
    #expect(classify(fake, region(.file(path: "/dev/shm/vm.ram"), shared: true)).kind == .tmpfsShared)
    #expect(classify(fake, region(.file(path: "/dev/shm"), shared: false)).notes == [
      "a directory: QEMU creates its own file in it", "mapped MAP_PRIVATE: shmem pages all the same; judged as tmpfs-shared",
    ])
    #expect(classify(fake, region(.posixSharedMemory, shared: true)).kind == .tmpfsShared)
    #expect(classify(fake, region(.anonymous, shared: false)) == RegionClassification(kind: .anon, evidence: "configuration: MAP_PRIVATE|MAP_ANONYMOUS"))
    #expect(classify(fake, region(.anonymous, shared: true)).kind == .memfd)
    #expect(classify(fake, region(.memfd(hugetlb: false), shared: true)).kind == .memfd)
    #expect(classify(fake, region(.memfd(hugetlb: true), shared: true)).kind == .hugetlb2m)
    let huge = classify(fake, region(.hugetlbfs(directory: "/dev/hugepages/libvirt/qemu/1-vm"), shared: false))
    #expect(huge.kind == .hugetlb2m)
    #expect(huge.notes == ["no hugetlbfs at /dev on this host: libvirt will not start the domain until one is mounted; judged as hugetlb-2m"])
  }

  @Test func whatDaxpinHasNoKindFor() {
    #expect(classify(fake, region(.file(path: "/proc"), shared: true)) == RegionClassification(
      kind: nil, examined: "/proc", evidence: "statfs proc", notes: ["a directory: QEMU creates its own file in it", "proc is neither a disk-backed filesystem, tmpfs nor hugetlbfs: daxpin has no memory kind for it"]))
  }

  @Test func processLimits() {
    let status = "Name:\tqemu-system-x86\nCapInh:\t0000000000000000\nCapEff:\t0000000000004000\n"
    let limits = "Limit                     Soft Limit           Hard Limit           Units\nMax locked memory         67108864             67108864             bytes\n"
    #expect(ProcessLimits.parse(status: status, limits: limits) == ProcessLimits(capIPCLock: true, memlockBytes: 64 << 20))
    #expect(ProcessLimits.parse(status: "CapEff:\t0000000000000000\n", limits: "Max locked memory         unlimited            unlimited            bytes\n") == ProcessLimits(capIPCLock: false, memlockBytes: nil))
    #expect(ProcessLimits.parse(status: "", limits: limits) == nil)
  }
}
