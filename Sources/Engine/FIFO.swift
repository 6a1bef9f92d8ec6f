/// A first-in first-out buffer: a ring of elements that move in and out without copies.
///
/// An input waits in a task's buffer between its decode and its merge; an array of optionals copied it three times
/// on its way out (out of the slot, `nil` in, out of the optional). Here an element is moved in once and moved out
/// once, and the first and last are read in place.
///
/// A value type: copies share the storage until one of them changes (copy on write).
struct FIFO<Element> {
    private var storage: Storage?
    /// The most elements held at once before the buffer last emptied: the room to make when it fills again, instead
    /// of growing to it by doubling (a move of everything held at each step).
    private var lastPeak = 0

    /// The storage is given back when the buffer empties with more than this much room: a buffer is then one
    /// allocation per batch, cheaper than idle megabytes per task.
    private static var keptCapacity: Int { 64 }

    var isEmpty: Bool { count == 0 }
    var count: Int { storage?.h.pointee.count ?? 0 }

    /// Reads the first element in place (no copy), nil when empty.
    func peek<R>(_ read: (borrowing Element) -> R) -> R? {
        guard let storage, storage.h.pointee.count > 0 else { return nil }
        return read((storage.elements + storage.h.pointee.head).pointee)
    }

    /// Reads the last element in place (no copy), nil when empty.
    func peekLast<R>(_ read: (borrowing Element) -> R) -> R? {
        guard let storage, storage.h.pointee.count > 0 else { return nil }
        let header = storage.h.pointee
        return read((storage.elements + header.position(header.count &- 1)).pointee)
    }

    mutating func append(_ element: consuming Element) {
        nextSlot().initialize(to: element)
        didAppend()
    }

    /// Appends the element `make` returns, made before its slot is found: a slot found first held the storage
    /// (a retain and a release) across `make`, which costs more than the element's one move into place.
    @inline(__always) mutating func append(_ make: () -> Element) {
        let element = make()
        nextSlot().initialize(to: element)
        didAppend()
    }

    /// The slot after the last element, room made for it (the storage this buffer's own).
    @inline(__always) private mutating func nextSlot() -> UnsafeMutablePointer<Element> {
        makeUnique(minimumCapacity: count + 1)
        let storage = storage.unsafelyUnwrapped
        let header = storage.h.pointee
        return storage.elements + header.position(header.count)
    }

    /// Counts the element just initialized in ``nextSlot()``.
    @inline(__always) private mutating func didAppend() {
        let storage = storage.unsafelyUnwrapped
        let count = storage.h.pointee.count &+ 1
        storage.h.pointee.count = count
        if count > storage.h.pointee.peak { storage.h.pointee.peak = count }
    }

    /// Moves the first element out. - Precondition: the buffer is not empty.
    mutating func removeFirst() -> Element {
        precondition(!isEmpty, "removeFirst on an empty FIFO")
        makeUnique(minimumCapacity: 0)
        let storage = storage.unsafelyUnwrapped
        let header = storage.h.pointee
        let element = (storage.elements + header.head).move()
        storage.h.pointee.head = header.position(1)
        storage.h.pointee.count = header.count &- 1
        if header.count == 1 {
            storage.h.pointee.head = 0
            if header.capacity > Self.keptCapacity {
                lastPeak = header.peak
                self.storage = nil
            }
        }
        return element
    }

    /// Makes the storage this buffer's own, with room for `minimumCapacity` elements.
    @inline(__always) private mutating func makeUnique(minimumCapacity: Int) {
        if isKnownUniquelyReferenced(&storage), storage.unsafelyUnwrapped.h.pointee.capacity >= minimumCapacity { return }
        reallocate(minimumCapacity: minimumCapacity)
    }

    /// New storage with room for `minimumCapacity` (a power of two, at least the last peak), the elements moved
    /// into it when this buffer alone holds the old storage, copied when it is shared.
    private mutating func reallocate(minimumCapacity: Int) {
        let unique = isKnownUniquelyReferenced(&storage)
        let old = storage.take()
        let held = old?.h.pointee.count ?? 0
        var capacity = old?.h.pointee.capacity ?? 4
        while capacity < max(minimumCapacity, old == nil ? lastPeak : 0) { capacity *= 2 }
        let new = unsafeDowncast(Storage.create(minimumCapacity: capacity) { _ in Header(capacity: capacity) },
                                 to: Storage.self)
        if let old {
            // Kept alive to the end: its elements are read through their address.
            withExtendedLifetime(old) {
                let oldHeader = old.h.pointee
                for k in 0..<held {
                    let source = old.elements + oldHeader.position(k)
                    if unique {
                        (new.elements + k).initialize(to: source.move())
                    } else {
                        (new.elements + k).initialize(to: source.pointee)
                    }
                }
                // Moved out: nothing left for the old storage to destroy.
                if unique { old.h.pointee.count = 0 }
                new.h.pointee.peak = oldHeader.peak
            }
        }
        new.h.pointee.count = held
        storage = new
    }

    struct Header {
        var head = 0
        var count = 0
        /// The most elements held at once.
        var peak = 0
        /// A power of two.
        let capacity: Int
        init(capacity: Int) { self.capacity = capacity }

        /// Where in the ring the element `k` places after the first is (wrapping).
        @inline(__always) func position(_ k: Int) -> Int { (head &+ k) & (capacity &- 1) }
    }

    /// The header and elements are reached through their addresses, stable while the storage lives (a buffer holds
    /// it across every use): the class's `header` property would check exclusive access at run time, twice per
    /// element.
    final class Storage: ManagedBuffer<Header, Element> {
        @inline(__always) var h: UnsafeMutablePointer<Header> { withUnsafeMutablePointerToHeader { $0 } }
        @inline(__always) var elements: UnsafeMutablePointer<Element> { withUnsafeMutablePointerToElements { $0 } }

        deinit {
            let header = h.pointee
            for k in 0..<header.count { (elements + header.position(k)).deinitialize(count: 1) }
        }
    }
}

/// Copy on write: a buffer changes only storage it holds alone.
extension FIFO: @unchecked Sendable where Element: Sendable {}

extension FIFO where Element == PendingInput {
    /// The merge key of the first input, read in place.
    var firstMergeKey: MergeKey? { peek { $0.mergeKey } }
}
