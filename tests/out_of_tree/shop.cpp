#include <string>

#include "shop.troupe.h"

namespace {

using namespace shop::v1;

class CartService : public CartsBase {
public:
  troupe::reply<Cart> Add(troupe::call_context&, const AddRequest& request) override {
    int line = find(request.item());
    int held = line < 0 ? 0 : state().lines(line).quantity();
    if (request.item().empty() || request.quantity() < 1
        || request.quantity() > max_per_item - held)
      return troupe::status{troupe::status_code::invalid_argument,
                            "quantity: 1 to 99 of an item per cart"};
    if (line < 0 && state().lines_size() == max_items)
      return troupe::status{troupe::status_code::resource_exhausted,
                            "a cart holds at most 50 different items"};
    // mutable_state(): the node stores the changed cart before the reply.
    Cart& cart = mutable_state();
    Line* changed = line < 0 ? cart.add_lines() : cart.mutable_lines(line);
    changed->set_item(request.item());
    changed->set_quantity(held + request.quantity());
    cart.set_total(cart.total() + request.quantity());
    return cart;
  }

  troupe::reply<Cart> Get(troupe::call_context&, const GetRequest&) override {
    return state();
  }

private:
  static constexpr int max_per_item = 99;
  static constexpr int max_items = 50;

  /// The index of `item`'s line in the cart; -1 when it has none.
  int find(const std::string& item) const {
    for (int i = 0; i < state().lines_size(); ++i)
      if (state().lines(i).item() == item)
        return i;
    return -1;
  }
};

} // namespace

TROUPE_MODULE("shop", "1.0.0") {
  registrar.add_service<CartService>();
}
