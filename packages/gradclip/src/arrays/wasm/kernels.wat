;; gradclip's array kernels in WebAssembly SIMD128.
;;
;; Every function takes a byte address `p` into the imported memory and an
;; element count `n`, and computes exactly what jsKernels (src/arrays/kernels.ts)
;; computes, bit for bit:
;; - the sums use 8 float64 accumulators s0..s7, element i going to s(i mod 8),
;;   the n mod 8 trailing elements to s0, combined as
;;   ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)); float32 values are
;;   promoted to float64 before squaring, so nothing overflows or underflows;
;; - scale is one IEEE multiply in the array's precision (for float32, the
;;   float32 product equals JavaScript's fround(x * fround(c)));
;; - max|x| is NaN when any element is NaN; clamp keeps NaN.
;; The memory is imported so that the module can run over any
;; WebAssembly.Memory (a GradBuffer's, or another library's heap) in place.
;; Loops count elements rather than compare end addresses, so a view that ends
;; at the 4 GiB limit works too.
(module
  (import "env" "memory" (memory 0))

  ;; ---------------------------------------------------------------- float32

  ;; The 8-element blocks of Σx² from p: (k blocks), accumulators in and out.
  (func $sumSquaresBlocksF32 (param $p i32) (param $k i32)
    (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128)
    (result v128 v128 v128 v128)
    (local $v v128) (local $d v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $v (v128.load (local.get $p)))
        (local.set $d (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $v (v128.load offset=16 (local.get $p)))
        (local.set $d (f64x2.promote_low_f32x4 (local.get $v)))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))

  (func (export "sumSquaresF32") (param $p i32) (param $n i32) (result f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $k i32) (local $s0 f64) (local $x f64)
    (call $sumSquaresBlocksF32 (local.get $p) (i32.shr_u (local.get $n) (i32.const 3))
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (local.set $p (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a0)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f64.promote_f32 (f32.load (local.get $p))))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $x) (local.get $x))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (call $combine (local.get $s0) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))

  (func $sumAbsBlocksF32 (param $p i32) (param $k i32)
    (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128)
    (result v128 v128 v128 v128)
    (local $v v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $v (f32x4.abs (v128.load (local.get $p))))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))))
        (local.set $v (f32x4.abs (v128.load offset=16 (local.get $p))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.promote_low_f32x4 (local.get $v))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.promote_low_f32x4
          (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))

  (func (export "sumAbsF32") (param $p i32) (param $n i32) (result f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $k i32) (local $s0 f64)
    (call $sumAbsBlocksF32 (local.get $p) (i32.shr_u (local.get $n) (i32.const 3))
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (local.set $p (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 2))))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a0)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $s0 (f64.add (local.get $s0) (f64.promote_f32 (f32.abs (f32.load (local.get $p))))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (call $combine (local.get $s0) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))

  ;; max|x|, NaN if any element is NaN. pmax ignores a NaN operand (it keeps
  ;; the accumulator), so NaN is tracked on the side with x != x.
  (func (export "maxAbsF32") (param $p i32) (param $n i32) (result f64)
    (local $k i32) (local $v v128) (local $m0 v128) (local $m1 v128) (local $nan v128)
    (local $m f32) (local $x f32)
    (local.set $k (i32.shr_u (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $v (f32x4.abs (v128.load (local.get $p))))
        (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
        (local.set $m0 (f32x4.pmax (local.get $m0) (local.get $v)))
        (local.set $v (f32x4.abs (v128.load offset=16 (local.get $p))))
        (local.set $nan (v128.or (local.get $nan) (f32x4.ne (local.get $v) (local.get $v))))
        (local.set $m1 (f32x4.pmax (local.get $m1) (local.get $v)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (if (v128.any_true (local.get $nan)) (then (return (f64.const nan))))
    (local.set $m0 (f32x4.pmax (local.get $m0) (local.get $m1)))
    (local.set $m (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $m0)) (f32x4.extract_lane 1 (local.get $m0)))
      (f32.max (f32x4.extract_lane 2 (local.get $m0)) (f32x4.extract_lane 3 (local.get $m0)))))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f32.abs (f32.load (local.get $p))))
        (if (f32.ne (local.get $x) (local.get $x)) (then (return (f64.const nan))))
        (local.set $m (f32.max (local.get $m) (local.get $x)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (f64.promote_f32 (local.get $m)))

  (func (export "scaleF32") (param $p i32) (param $n i32) (param $c f32)
    (local $k i32) (local $cv v128)
    (local.set $cv (f32x4.splat (local.get $c)))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $p) (f32x4.mul (v128.load (local.get $p)) (local.get $cv)))
        (v128.store offset=16 (local.get $p) (f32x4.mul (v128.load offset=16 (local.get $p)) (local.get $cv)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (f32.store (local.get $p) (f32.mul (f32.load (local.get $p)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  ;; x <- min(max(x, -c), c), NaN kept: pmax(x, lo) = x < lo ? lo : x and
  ;; pmin(x, hi) = hi < x ? hi : x are false for NaN, so NaN passes through.
  ;; c arrives rounded to float32; for float32 x, comparing with fround(c)
  ;; changes no result of jsKernels.clamp's float64 comparison with c (a
  ;; float32 x above c is >= fround(c), and x = fround(c) stores itself).
  (func (export "clampF32") (param $p i32) (param $n i32) (param $c f32)
    (local $k i32) (local $hi v128) (local $lo v128) (local $x f32)
    (local.set $hi (f32x4.splat (local.get $c)))
    (local.set $lo (f32x4.splat (f32.neg (local.get $c))))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $p)
          (f32x4.pmin (f32x4.pmax (v128.load (local.get $p)) (local.get $lo)) (local.get $hi)))
        (v128.store offset=16 (local.get $p)
          (f32x4.pmin (f32x4.pmax (v128.load offset=16 (local.get $p)) (local.get $lo)) (local.get $hi)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f32.load (local.get $p)))
        (local.set $x (select (f32.neg (local.get $c)) (local.get $x)
          (f32.lt (local.get $x) (f32.neg (local.get $c)))))
        (local.set $x (select (local.get $c) (local.get $x) (f32.gt (local.get $x) (local.get $c))))
        (f32.store (local.get $p) (local.get $x))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  ;; ---------------------------------------------------------------- float64

  (func $sumSquaresBlocksF64 (param $p i32) (param $k i32)
    (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128)
    (result v128 v128 v128 v128)
    (local $d v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $d (v128.load (local.get $p)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (v128.load offset=16 (local.get $p)))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (v128.load offset=32 (local.get $p)))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $d (v128.load offset=48 (local.get $p)))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.mul (local.get $d) (local.get $d))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))

  (func (export "sumSquaresF64") (param $p i32) (param $n i32) (result f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $k i32) (local $s0 f64) (local $x f64)
    (call $sumSquaresBlocksF64 (local.get $p) (i32.shr_u (local.get $n) (i32.const 3))
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (local.set $p (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 3))))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a0)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f64.load (local.get $p)))
        (local.set $s0 (f64.add (local.get $s0) (f64.mul (local.get $x) (local.get $x))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (call $combine (local.get $s0) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))

  (func $sumAbsBlocksF64 (param $p i32) (param $k i32)
    (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128)
    (result v128 v128 v128 v128)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $a0 (f64x2.add (local.get $a0) (f64x2.abs (v128.load (local.get $p)))))
        (local.set $a1 (f64x2.add (local.get $a1) (f64x2.abs (v128.load offset=16 (local.get $p)))))
        (local.set $a2 (f64x2.add (local.get $a2) (f64x2.abs (v128.load offset=32 (local.get $p)))))
        (local.set $a3 (f64x2.add (local.get $a3) (f64x2.abs (v128.load offset=48 (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3))

  (func (export "sumAbsF64") (param $p i32) (param $n i32) (result f64)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $k i32) (local $s0 f64)
    (call $sumAbsBlocksF64 (local.get $p) (i32.shr_u (local.get $n) (i32.const 3))
      (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (local.set $p (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -8)) (i32.const 3))))
    (local.set $s0 (f64x2.extract_lane 0 (local.get $a0)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $s0 (f64.add (local.get $s0) (f64.abs (f64.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (call $combine (local.get $s0) (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)))

  (func (export "maxAbsF64") (param $p i32) (param $n i32) (result f64)
    (local $k i32) (local $v v128) (local $m0 v128) (local $m1 v128) (local $nan v128)
    (local $m f64) (local $x f64)
    (local.set $k (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $v (f64x2.abs (v128.load (local.get $p))))
        (local.set $nan (v128.or (local.get $nan) (f64x2.ne (local.get $v) (local.get $v))))
        (local.set $m0 (f64x2.pmax (local.get $m0) (local.get $v)))
        (local.set $v (f64x2.abs (v128.load offset=16 (local.get $p))))
        (local.set $nan (v128.or (local.get $nan) (f64x2.ne (local.get $v) (local.get $v))))
        (local.set $m1 (f64x2.pmax (local.get $m1) (local.get $v)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (if (v128.any_true (local.get $nan)) (then (return (f64.const nan))))
    (local.set $m0 (f64x2.pmax (local.get $m0) (local.get $m1)))
    (local.set $m (f64.max (f64x2.extract_lane 0 (local.get $m0)) (f64x2.extract_lane 1 (local.get $m0))))
    (local.set $k (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f64.abs (f64.load (local.get $p))))
        (if (f64.ne (local.get $x) (local.get $x)) (then (return (f64.const nan))))
        (local.set $m (f64.max (local.get $m) (local.get $x)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.get $m))

  (func (export "scaleF64") (param $p i32) (param $n i32) (param $c f64)
    (local $k i32) (local $cv v128)
    (local.set $cv (f64x2.splat (local.get $c)))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $p) (f64x2.mul (v128.load (local.get $p)) (local.get $cv)))
        (v128.store offset=16 (local.get $p) (f64x2.mul (v128.load offset=16 (local.get $p)) (local.get $cv)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (f64.store (local.get $p) (f64.mul (f64.load (local.get $p)) (local.get $c)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  (func (export "clampF64") (param $p i32) (param $n i32) (param $c f64)
    (local $k i32) (local $hi v128) (local $lo v128) (local $x f64)
    (local.set $hi (f64x2.splat (local.get $c)))
    (local.set $lo (f64x2.splat (f64.neg (local.get $c))))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $p)
          (f64x2.pmin (f64x2.pmax (v128.load (local.get $p)) (local.get $lo)) (local.get $hi)))
        (v128.store offset=16 (local.get $p)
          (f64x2.pmin (f64x2.pmax (v128.load offset=16 (local.get $p)) (local.get $lo)) (local.get $hi)))
        (local.set $p (i32.add (local.get $p) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f64.load (local.get $p)))
        (local.set $x (select (f64.neg (local.get $c)) (local.get $x)
          (f64.lt (local.get $x) (f64.neg (local.get $c)))))
        (local.set $x (select (local.get $c) (local.get $x) (f64.gt (local.get $x) (local.get $c))))
        (f64.store (local.get $p) (local.get $x))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  ;; ------------------------------------------- out of place, for new tensors
  ;; dst <- src · c and dst <- clamp(src, -c, c): the arithmetic of scale and
  ;; clamp above applied to a copy of src, in one pass (src read once, dst
  ;; written once), for backends that return a new tensor. src and dst are
  ;; the same address or do not overlap.

  (func (export "scaleIntoF32") (param $src i32) (param $dst i32) (param $n i32) (param $c f32)
    (local $k i32) (local $cv v128)
    (local.set $cv (f32x4.splat (local.get $c)))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $dst) (f32x4.mul (v128.load (local.get $src)) (local.get $cv)))
        (v128.store offset=16 (local.get $dst) (f32x4.mul (v128.load offset=16 (local.get $src)) (local.get $cv)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (f32.store (local.get $dst) (f32.mul (f32.load (local.get $src)) (local.get $c)))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  (func (export "clampIntoF32") (param $src i32) (param $dst i32) (param $n i32) (param $c f32)
    (local $k i32) (local $hi v128) (local $lo v128) (local $x f32)
    (local.set $hi (f32x4.splat (local.get $c)))
    (local.set $lo (f32x4.splat (f32.neg (local.get $c))))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $dst)
          (f32x4.pmin (f32x4.pmax (v128.load (local.get $src)) (local.get $lo)) (local.get $hi)))
        (v128.store offset=16 (local.get $dst)
          (f32x4.pmin (f32x4.pmax (v128.load offset=16 (local.get $src)) (local.get $lo)) (local.get $hi)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 7)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f32.load (local.get $src)))
        (local.set $x (select (f32.neg (local.get $c)) (local.get $x)
          (f32.lt (local.get $x) (f32.neg (local.get $c)))))
        (local.set $x (select (local.get $c) (local.get $x) (f32.gt (local.get $x) (local.get $c))))
        (f32.store (local.get $dst) (local.get $x))
        (local.set $src (i32.add (local.get $src) (i32.const 4)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 4)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  (func (export "scaleIntoF64") (param $src i32) (param $dst i32) (param $n i32) (param $c f64)
    (local $k i32) (local $cv v128)
    (local.set $cv (f64x2.splat (local.get $c)))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $dst) (f64x2.mul (v128.load (local.get $src)) (local.get $cv)))
        (v128.store offset=16 (local.get $dst) (f64x2.mul (v128.load offset=16 (local.get $src)) (local.get $cv)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (f64.store (local.get $dst) (f64.mul (f64.load (local.get $src)) (local.get $c)))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  (func (export "clampIntoF64") (param $src i32) (param $dst i32) (param $n i32) (param $c f64)
    (local $k i32) (local $hi v128) (local $lo v128) (local $x f64)
    (local.set $hi (f64x2.splat (local.get $c)))
    (local.set $lo (f64x2.splat (f64.neg (local.get $c))))
    (local.set $k (i32.shr_u (local.get $n) (i32.const 2)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (v128.store (local.get $dst)
          (f64x2.pmin (f64x2.pmax (v128.load (local.get $src)) (local.get $lo)) (local.get $hi)))
        (v128.store offset=16 (local.get $dst)
          (f64x2.pmin (f64x2.pmax (v128.load offset=16 (local.get $src)) (local.get $lo)) (local.get $hi)))
        (local.set $src (i32.add (local.get $src) (i32.const 32)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 32)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next)))
    (local.set $k (i32.and (local.get $n) (i32.const 3)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $k)))
        (local.set $x (f64.load (local.get $src)))
        (local.set $x (select (f64.neg (local.get $c)) (local.get $x)
          (f64.lt (local.get $x) (f64.neg (local.get $c)))))
        (local.set $x (select (local.get $c) (local.get $x) (f64.gt (local.get $x) (local.get $c))))
        (f64.store (local.get $dst) (local.get $x))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br $next))))

  ;; -------------------------------------------- accumulating, for staging
  ;; `blocks` 8-element blocks from p added into the accumulators s0..s7 held
  ;; as 8 float64 at acc: for arrays streamed through a scratch memory in
  ;; chunks, with the tail and the final combination done by the caller.

  (func (export "accSumSquaresF32") (param $p i32) (param $blocks i32) (param $acc i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (call $sumSquaresBlocksF32 (local.get $p) (local.get $blocks)
      (v128.load (local.get $acc)) (v128.load offset=16 (local.get $acc))
      (v128.load offset=32 (local.get $acc)) (v128.load offset=48 (local.get $acc)))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (v128.store (local.get $acc) (local.get $a0))
    (v128.store offset=16 (local.get $acc) (local.get $a1))
    (v128.store offset=32 (local.get $acc) (local.get $a2))
    (v128.store offset=48 (local.get $acc) (local.get $a3)))

  (func (export "accSumAbsF32") (param $p i32) (param $blocks i32) (param $acc i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (call $sumAbsBlocksF32 (local.get $p) (local.get $blocks)
      (v128.load (local.get $acc)) (v128.load offset=16 (local.get $acc))
      (v128.load offset=32 (local.get $acc)) (v128.load offset=48 (local.get $acc)))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (v128.store (local.get $acc) (local.get $a0))
    (v128.store offset=16 (local.get $acc) (local.get $a1))
    (v128.store offset=32 (local.get $acc) (local.get $a2))
    (v128.store offset=48 (local.get $acc) (local.get $a3)))

  (func (export "accSumSquaresF64") (param $p i32) (param $blocks i32) (param $acc i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (call $sumSquaresBlocksF64 (local.get $p) (local.get $blocks)
      (v128.load (local.get $acc)) (v128.load offset=16 (local.get $acc))
      (v128.load offset=32 (local.get $acc)) (v128.load offset=48 (local.get $acc)))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (v128.store (local.get $acc) (local.get $a0))
    (v128.store offset=16 (local.get $acc) (local.get $a1))
    (v128.store offset=32 (local.get $acc) (local.get $a2))
    (v128.store offset=48 (local.get $acc) (local.get $a3)))

  (func (export "accSumAbsF64") (param $p i32) (param $blocks i32) (param $acc i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (call $sumAbsBlocksF64 (local.get $p) (local.get $blocks)
      (v128.load (local.get $acc)) (v128.load offset=16 (local.get $acc))
      (v128.load offset=32 (local.get $acc)) (v128.load offset=48 (local.get $acc)))
    (local.set $a3) (local.set $a2) (local.set $a1) (local.set $a0)
    (v128.store (local.get $acc) (local.get $a0))
    (v128.store offset=16 (local.get $acc) (local.get $a1))
    (v128.store offset=32 (local.get $acc) (local.get $a2))
    (v128.store offset=48 (local.get $acc) (local.get $a3)))

  ;; ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)), with s0 given (it took
  ;; the trailing elements) and s1..s7 in the lanes of a0..a3.
  (func $combine (param $s0 f64) (param $a0 v128) (param $a1 v128) (param $a2 v128) (param $a3 v128)
    (result f64)
    (f64.add
      (f64.add
        (f64.add (local.get $s0) (f64x2.extract_lane 1 (local.get $a0)))
        (f64.add (f64x2.extract_lane 0 (local.get $a1)) (f64x2.extract_lane 1 (local.get $a1))))
      (f64.add
        (f64.add (f64x2.extract_lane 0 (local.get $a2)) (f64x2.extract_lane 1 (local.get $a2)))
        (f64.add (f64x2.extract_lane 0 (local.get $a3)) (f64x2.extract_lane 1 (local.get $a3))))))
)
