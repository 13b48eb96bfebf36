extension Report {
  /// The host name and the kernel-release suffix the fake backend gives every report it writes.
  public static let fakeHostname = "daxpin-fake"
  public static let fakeReleaseSuffix = "-daxpin-fake"

  /// True when the report came from the fake backend, however it was edited afterwards: the
  /// `simulated` flag, or `backend: "fake"`, or the fake backend's host name or kernel release.
  /// One mark is enough, so deleting the flag does not pass a simulated report off as a real one
  /// (simulated and real reports never mix in a matrix).
  public var isSimulated: Bool {
    simulatedField == true || backend == .fake || host.hostname == Self.fakeHostname
      || kernel.release.hasSuffix(Self.fakeReleaseSuffix)
  }
}
