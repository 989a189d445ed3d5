/**
 * `T` without its `readonly` marks: the type an object is built as when it updates a field its
 * readers see as read-only (a flag it sets itself, a count it keeps). Per-call objects use that
 * instead of a getter: V8 builds an object literal with an accessor in dictionary mode — ≈ 440
 * bytes more per object and slower to read (bench/README.md, "Memory per call in flight").
 */
export type Mutable<T> = { -readonly [K in keyof T]: T[K] };
