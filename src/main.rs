fn main() {
    let dm = devicemapper::DM::new();
    println!("{}", dm.is_ok());
}
