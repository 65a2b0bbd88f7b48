// The model directories of a repository folder and a fingerprint of each, so
// that polling can tell a new, changed or removed model. Thread-compatible
// pure functions (they read the file system).
#ifndef LION_SERVER_REPOSITORY_REPOSITORY_SCAN_H_
#define LION_SERVER_REPOSITORY_REPOSITORY_SCAN_H_

#include <string>
#include <vector>

namespace lion::repository {

struct ModelDirectory {
  std::string name;  // the folder's name: the served model name
  std::string path;
  // Size and modification time of each file a model is made of
  // (config.json, model.safetensors, vocab.txt): equal fingerprints mean
  // nothing to reload. Files the server writes (calibration caches) are not
  // part of it.
  std::string fingerprint;
};

// Every sub-folder of `repository` that holds a config.json, sorted by name;
// empty when the folder cannot be read. Folders whose name starts with '.'
// are skipped (a place to copy a model into before renaming it).
std::vector<ModelDirectory> ScanRepository(const std::string& repository);

// The fingerprint of one model directory (see ModelDirectory).
std::string Fingerprint(const std::string& path);

}  // namespace lion::repository

#endif  // LION_SERVER_REPOSITORY_REPOSITORY_SCAN_H_
