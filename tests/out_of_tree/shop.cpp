#include <cstddef>
#include <map>
#include <string>

#include "shop.troupe.h"

namespace {

using namespace shop::v1;

class CartService : public CartsBase {
public:
  troupe::reply<Cart> Add(troupe::call_context&, const AddRequest& request) override {
    auto line = lines_.find(request.item());
    int held = line == lines_.end() ? 0 : line->second;
    if (request.item().empty() || request.quantity() < 1
        || request.quantity() > max_per_item - held)
      return troupe::status{troupe::status_code::invalid_argument,
                            "quantity: 1 to 99 of an item per cart"};
    if (line == lines_.end() && lines_.size() == max_items)
      return troupe::status{troupe::status_code::resource_exhausted,
                            "a cart holds at most 50 different items"};
    lines_[request.item()] = held + request.quantity();
    return cart();
  }

  troupe::reply<Cart> Get(troupe::call_context&, const GetRequest&) override {
    return cart();
  }

private:
  static constexpr int max_per_item = 99;
  static constexpr std::size_t max_items = 50;

  Cart cart() const {
    Cart cart;
    for (const auto& [item, quantity] : lines_) {
      auto* line = cart.add_lines();
      line->set_item(item);
      line->set_quantity(quantity);
      cart.set_total(cart.total() + quantity);
    }
    return cart;
  }

  std::map<std::string, int> lines_;  // item -> quantity
};

} // namespace

TROUPE_MODULE("shop", "1.0.0") {
  registrar.add_service<CartService>();
}
