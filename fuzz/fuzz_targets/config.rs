#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    lpgate_fuzz_targets::config(data);
});
