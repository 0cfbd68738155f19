// Writes the small valid seed files of the xinf and tfjs fuzz targets: make_seeds tests/fuzz/corpus
#include <fstream>
#include "xinfer/xinfer.hpp"
using namespace xinfer;
int main(int, char** argv) {
  const std::string dir = argv[1];
  models::MobileNetV2Options o; o.alpha = 0.35; o.size = 32; o.classes = 2;
  // A tiny conv net: Conv + BN + Clip + GAP + Dense + Softmax.
  Graph g;
  g.inputs.push_back({"x", DataType::f32, {-1, 5, 5, 3}});
  std::vector<float> w(4 * 3 * 3 * 3), b(4, 0.1f), ones(4, 1.0f), zeros(4, 0.0f), fc(2 * 4, 0.25f), fb(2, 0.0f);
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(i % 7) / 7.0f - 0.5f;
  g.constants["w"] = Constant::from_floats({4, 3, 3, 3}, w);
  g.constants["b"] = Constant::from_floats({4}, b);
  for (const char* n : {"g", "v"}) g.constants[n] = Constant::from_floats({4}, ones);
  for (const char* n : {"be", "m"}) g.constants[n] = Constant::from_floats({4}, zeros);
  g.constants["fc"] = Constant::from_floats({2, 4}, fc);
  g.constants["fb"] = Constant::from_floats({2}, fb);
  Node conv{"conv", "Conv", {"x", "w", "b"}, {"c"}, {}}; conv.attrs["pads"] = std::vector<int64_t>{1, 1, 1, 1};
  g.nodes.push_back(conv);
  g.nodes.push_back(Node{"bn", "BatchNormalization", {"c", "g", "be", "m", "v"}, {"n"}, {}});
  Node clip{"relu", "Clip", {"n"}, {"r"}, {}}; clip.attrs["clip_min"] = 0.0; clip.attrs["clip_max"] = 6.0;
  g.nodes.push_back(clip);
  g.nodes.push_back(Node{"pool", "GlobalAveragePool", {"r"}, {"p"}, {}});
  g.nodes.push_back(Node{"fc", "Dense", {"p", "fc", "fb"}, {"l"}, {}});
  g.nodes.push_back(Node{"sm", "Softmax", {"l"}, {"y"}, {}});
  g.outputs.push_back({"y", DataType::f32, {-1, 2}});
  io::ModelMetadata meta; meta.labels = {"a", "b"};
  io::save_xinf(dir + "/xinf/tiny.xinf", g, meta);
  // TF.js: InputLayer -> ZeroPadding2D -> Conv2D (relu) -> GlobalAveragePooling2D -> Dense (softmax)
  const std::string json = R"({"format":"layers-model","modelTopology":{"class_name":"Model","config":{"name":"m","layers":[
{"class_name":"InputLayer","name":"in","config":{"batch_input_shape":[null,6,6,3],"dtype":"float32","name":"in"},"inbound_nodes":[]},
{"class_name":"ZeroPadding2D","name":"pad","config":{"name":"pad","padding":[[0,1],[0,1]]},"inbound_nodes":[[["in",0,0,{}]]]},
{"class_name":"Conv2D","name":"conv","config":{"name":"conv","filters":2,"kernel_size":[3,3],"strides":[2,2],"padding":"valid","dilation_rate":[1,1],"use_bias":true,"activation":"relu"},"inbound_nodes":[[["pad",0,0,{}]]]},
{"class_name":"GlobalAveragePooling2D","name":"gap","config":{"name":"gap"},"inbound_nodes":[[["conv",0,0,{}]]]},
{"class_name":"Dense","name":"fc","config":{"name":"fc","units":2,"use_bias":true,"activation":"softmax"},"inbound_nodes":[[["gap",0,0,{}]]]}],
"input_layers":[["in",0,0]],"output_layers":[["fc",0,0]]}},
"weightsManifest":[{"paths":["group1-shard1of1.bin"],"weights":[
{"name":"conv/kernel","shape":[3,3,3,2],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.01}},
{"name":"conv/bias","shape":[2],"dtype":"float32"},
{"name":"fc/kernel","shape":[2,2],"dtype":"float32"},{"name":"fc/bias","shape":[2],"dtype":"float32"}]}]})";
  std::ofstream t(dir + "/tfjs/tiny.bin", std::ios::binary);
  t.write(json.data(), std::streamsize(json.size()));
  t.put('\0');
  for (int i = 0; i < 54; ++i) t.put(char(i * 4));
  const float rest[] = {0.1f, -0.1f, 1.0f, 0.5f, -0.5f, 1.0f, 0.0f, 0.2f};
  t.write(reinterpret_cast<const char*>(rest), sizeof rest);
  t.close();
  // Sanity: both seeds load.
  auto m = Model::load(dir + "/xinf/tiny.xinf");
  std::vector<std::byte> wb; std::string s; { std::ifstream f(dir + "/tfjs/tiny.bin", std::ios::binary); s.assign(std::istreambuf_iterator<char>(f), {}); }
  const size_t nul = s.find('\0');
  wb.resize(s.size() - nul - 1); std::memcpy(wb.data(), s.data() + nul + 1, wb.size());
  auto t2 = io::import_tfjs(s.substr(0, nul), wb, "seed");
  auto m2 = Model::from_graph(t2.graph, t2.metadata);
  std::printf("seeds ok: %zu and %zu steps\n", m.executor().steps().size(), m2.executor().steps().size());
}
