pub fn App() {}
